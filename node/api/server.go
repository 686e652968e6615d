package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Prefix is the path under which every API route lives.
const Prefix = "/api/v1/"

// maxJSONBody bounds JSON requests; they carry a capability at most.
const maxJSONBody = 64 << 10

// NewServer returns the API handler for b. Every request must carry "Authorization: Bearer token";
// an empty token locks the API entirely.
func NewServer(b Backend, token string) http.Handler {
	s := &server{b: b}
	routes := map[string]http.HandlerFunc{
		"put":   s.put,
		"get":   s.get,
		"stat":  s.stat,
		"ls":    s.list,
		"rm":    s.remove,
		"id":    s.id,
		"peers": s.peers,
		"exit":  s.exit,
	}
	addLedgerRoutes(routes, b) // partner/* and ledger/*, if b has a ledger (LedgerBackend)
	return guard(token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := routes[strings.TrimPrefix(r.URL.Path, Prefix)]
		if !ok || !strings.HasPrefix(r.URL.Path, Prefix) {
			writeJSON(w, http.StatusNotFound, &Error{Code: CodeBadRequest,
				Message: "unknown API endpoint " + r.URL.Path})
			return
		}
		h(w, r)
	}))
}

type server struct{ b Backend }

// capRequest is the body of get, stat and rm.
type capRequest struct {
	Cap string `json:"cap"`
}

func (s *server) put(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength < 0 {
		writeJSON(w, http.StatusLengthRequired, &Error{Code: CodeBadRequest,
			Message: "put needs a Content-Length"})
		return
	}
	q := r.URL.Query()
	opt := PutOptions{Name: q.Get("name"), Partner: q.Get("partner")}
	var err error
	if opt.K, err = intParam(q.Get("k"), "k"); err != nil {
		writeError(w, err)
		return
	}
	if opt.N, err = intParam(q.Get("n"), "n"); err != nil {
		writeError(w, err)
		return
	}
	res, err := s.b.Put(r.Context(), r.Body, r.ContentLength, opt)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func intParam(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return 0, &Error{Code: CodeBadRequest, Message: "bad " + name + "=" + strconv.Quote(v) + ": want a non-negative integer"}
	}
	return i, nil
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	var req capRequest
	if !decodeCap(w, r, &req) {
		return
	}
	gw := &getWriter{w: w, size: -1}
	err := s.b.Get(r.Context(), req.Cap, gw, gw.start)
	if !gw.started {
		if err != nil {
			writeError(w, err) // nothing sent yet: the client gets the real cause
			return
		}
		gw.start(0) // no start and no data: an empty file
		gw.begin()
	}
	// Once the status line is out, the only way left to signal failure is to cut the connection:
	// the client then sees fewer bytes than Content-Length instead of a silently short file.
	if err != nil || (gw.size >= 0 && gw.written != gw.size) {
		panic(http.ErrAbortHandler)
	}
}

// getWriter holds the response header back until the first byte, so an error found after
// start but before any data (say, a first segment without k shards) still reaches the client
// as a JSON error. start only records the size for Content-Length.
type getWriter struct {
	w       http.ResponseWriter
	sized   bool
	started bool
	size    int64 // -1 if start was never called: the response then has no Content-Length
	written int64
}

func (g *getWriter) start(size int64) {
	if !g.sized && !g.started {
		g.sized, g.size = true, size
	}
}

// begin sends the success header.
func (g *getWriter) begin() {
	g.started = true
	h := g.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	if g.size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(g.size, 10))
	}
	g.w.WriteHeader(http.StatusOK)
}

func (g *getWriter) Write(p []byte) (int, error) {
	if !g.started {
		if len(p) == 0 {
			return 0, nil
		}
		g.begin()
	}
	n, err := g.w.Write(p)
	g.written += int64(n)
	return n, err
}

// Flush pushes buffered bytes to the client, for backends that produce data slowly.
func (g *getWriter) Flush() {
	if g.started {
		http.NewResponseController(g.w).Flush()
	}
}

func (s *server) stat(w http.ResponseWriter, r *http.Request) {
	var req capRequest
	if !decodeCap(w, r, &req) {
		return
	}
	res, err := s.b.Stat(r.Context(), req.Cap)
	reply(w, res, err)
}

func (s *server) remove(w http.ResponseWriter, r *http.Request) {
	var req capRequest
	if !decodeCap(w, r, &req) {
		return
	}
	res, err := s.b.Remove(r.Context(), req.Cap)
	reply(w, res, err)
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	if !decodeEmpty(w, r) {
		return
	}
	res, err := s.b.List(r.Context())
	if res == nil {
		res = []ListEntry{} // "[]", not "null", for JSON consumers
	}
	reply(w, res, err)
}

func (s *server) id(w http.ResponseWriter, r *http.Request) {
	if !decodeEmpty(w, r) {
		return
	}
	res, err := s.b.ID(r.Context())
	reply(w, res, err)
}

func (s *server) peers(w http.ResponseWriter, r *http.Request) {
	if !decodeEmpty(w, r) {
		return
	}
	res, err := s.b.Peers(r.Context())
	if res == nil {
		res = []PeerInfo{}
	}
	for i := range res { // id is the current name, peer_id the old one: scripts may read either
		if res[i].ID == "" {
			res[i].ID = res[i].PeerID
		} else if res[i].PeerID == "" {
			res[i].PeerID = res[i].ID
		}
	}
	reply(w, res, err)
}

// exit runs one graceful-exit pass; it can take minutes. Like put and get it runs under the
// request's context, which ends when the client goes away or, after the shutdown grace, when
// the daemon stops. A pass that ends part-way with a result still sends that result (as not
// complete, with the cause in Error), since what moved is what the user needs to see.
func (s *server) exit(w http.ResponseWriter, r *http.Request) {
	if !decodeEmpty(w, r) {
		return
	}
	res, err := s.b.Exit(r.Context())
	if err != nil && res != nil {
		partial := *res
		partial.Complete = false
		if partial.Error == "" {
			partial.Error = err.Error()
		}
		res, err = &partial, nil
	}
	if err == nil && res == nil {
		err = &Error{Code: CodeInternal, Message: "exit: the node returned no result"}
	}
	reply(w, res, err)
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// decodeCap reads a capRequest, answering 400 itself when the body is unusable.
func decodeCap(w http.ResponseWriter, r *http.Request, req *capRequest) bool {
	if err := decodeJSON(w, r, req, false); err != nil {
		writeError(w, err)
		return false
	}
	if req.Cap == "" {
		writeError(w, &Error{Code: CodeBadCap, Message: `request has no "cap"`})
		return false
	}
	return true
}

// decodeEmpty accepts an empty body or {} for endpoints that take no input.
func decodeEmpty(w http.ResponseWriter, r *http.Request) bool {
	if err := decodeJSON(w, r, &struct{}{}, true); err != nil {
		writeError(w, err)
		return false
	}
	return true
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) error {
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields() // a misspelt field should fail loudly, not be ignored
	err := dec.Decode(v)
	if err == nil {
		err = dec.Decode(&struct{}{})
		if err == io.EOF {
			return nil
		}
		if err == nil {
			err = errors.New("more than one JSON value")
		}
	} else if err == io.EOF && emptyOK {
		return nil
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &Error{Code: CodeBadRequest, Message: "request body larger than 64 KiB"}
	}
	return &Error{Code: CodeBadRequest, Message: "bad JSON request: " + err.Error()}
}

func writeError(w http.ResponseWriter, err error) {
	e := toAPIError(err)
	writeJSON(w, HTTPStatus(e.Code), e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(&Error{Code: CodeInternal, Message: "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
