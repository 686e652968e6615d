package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cairn-storage/cairn/payments"
)

// LedgerBackend is what the ledger endpoints need of a node. It is separate from Backend so
// that backends without a ledger (test fakes, older nodes) keep compiling: NewServer registers
// the ledger routes only for a backend that also implements it.
type LedgerBackend interface {
	// RegisterPartner signs and stores a Partner registration by this node (author and payout
	// are this node's key); id is the tag uploaders put on their files (cairn put --partner).
	RegisterPartner(ctx context.Context, id, name string, shareBPS uint32) (*PartnerResult, error)
	// Partners lists the partner IDs registered in the ledger, with their owner's terms.
	Partners(ctx context.Context) ([]PartnerInfo, error)
	LedgerShow(ctx context.Context) (*LedgerSummary, error)
	// LedgerExport writes every stored entry, one per line: standard base64 of its canonical
	// encoding, in (author, seq) order.
	LedgerExport(ctx context.Context, w io.Writer) error
	// LedgerImport validates and stores entries in LedgerExport's format.
	LedgerImport(ctx context.Context, r io.Reader) (*ImportResult, error)
	// LedgerSettle settles an epoch from the stored entries; nil means the last closed one.
	LedgerSettle(ctx context.Context, epoch *uint64) (*payments.Settlement, error)
	// LedgerVerify compares this node's settlement of an epoch (nil: the last closed one)
	// with the statements other nodes signed, and lists the entries behind a disagreement.
	LedgerVerify(ctx context.Context, epoch *uint64) (*VerifyResult, error)
}

// PartnerResult is what registering a partner produced.
type PartnerResult struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Payout   string `json:"payout"` // peer ID
	ShareBPS uint32 `json:"share_bps"`
	Seq      uint64 `json:"seq"`      // the registration's place in this node's chain
	EntryID  string `json:"entry_id"` // hex
	// Owner is the author the ID belongs to per the settlement rules (the earliest
	// registration): another node's if it registered the ID first.
	Owner string `json:"owner"`
	Mine  bool   `json:"mine"` // Owner is this node
}

// PartnerInfo is one registered partner ID with its owner's latest terms.
type PartnerInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Owner    string `json:"owner"`  // author of the earliest registration
	Payout   string `json:"payout"` // peer ID
	ShareBPS uint32 `json:"share_bps"`
	Time     int64  `json:"time"` // unix seconds of the terms' registration
	Mine     bool   `json:"mine"`
}

// LedgerSummary describes a node's ledger.
type LedgerSummary struct {
	Entries int            `json:"entries"`
	Kinds   map[string]int `json:"kinds"` // entries per kind name (download, storage, ...)
	Authors int            `json:"authors"`
	Self    string         `json:"self"`
	// Frontier is this node's own chain: its last Seq and that entry's ID (hex, "" if none).
	Frontier   OwnFrontier `json:"frontier"`
	Excluded   []string    `json:"excluded"` // authors proven to have forked, sorted
	ForkProofs int         `json:"fork_proofs"`
	// EpochLength and Genesis are the epoch grid settlement uses; Epoch is the current one.
	EpochLength int64  `json:"epoch_length"`
	Genesis     int64  `json:"genesis"`
	Epoch       uint64 `json:"epoch"`
}

// OwnFrontier is the head of this node's own chain.
type OwnFrontier struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
}

// ImportResult reports an import: how many lines were accepted and why the others were not.
type ImportResult struct {
	Accepted int `json:"accepted"`
	// RejectedCount counts every rejected line; Rejected lists the first MaxReportedRejections.
	RejectedCount int               `json:"rejected_count"`
	Rejected      []ImportRejection `json:"rejected"`
}

// MaxReportedRejections bounds ImportResult.Rejected, so a garbage file gives a bounded answer.
const MaxReportedRejections = 1000

// ImportRejection is one refused line: Reason is a payments.Reason string.
type ImportRejection struct {
	Line   int    `json:"line"` // 1-based
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// MaxImportBody bounds an import request: about three million entries.
const MaxImportBody = 1 << 30

type registerPartnerRequest struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ShareBPS uint32 `json:"share_bps"`
}

type settleRequest struct {
	Epoch *uint64 `json:"epoch,omitempty"`
}

var _ LedgerBackend = (*Client)(nil)

// addLedgerRoutes adds the partner and ledger endpoints if b has a ledger.
func addLedgerRoutes(routes map[string]http.HandlerFunc, b Backend) {
	lb, ok := b.(LedgerBackend)
	if !ok {
		return
	}
	s := &ledgerServer{b: lb}
	routes["partner/register"] = s.registerPartner
	routes["partner/ls"] = s.partners
	routes["ledger/show"] = s.show
	routes["ledger/export"] = s.export
	routes["ledger/import"] = s.importEntries
	routes["ledger/settle"] = s.settle
	routes["ledger/verify"] = s.verify
}

type ledgerServer struct{ b LedgerBackend }

func (s *ledgerServer) registerPartner(w http.ResponseWriter, r *http.Request) {
	var req registerPartnerRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	res, err := s.b.RegisterPartner(r.Context(), req.ID, req.Name, req.ShareBPS)
	reply(w, res, err)
}

func (s *ledgerServer) partners(w http.ResponseWriter, r *http.Request) {
	if !decodeEmpty(w, r) {
		return
	}
	res, err := s.b.Partners(r.Context())
	if res == nil {
		res = []PartnerInfo{}
	}
	reply(w, res, err)
}

func (s *ledgerServer) show(w http.ResponseWriter, r *http.Request) {
	if !decodeEmpty(w, r) {
		return
	}
	res, err := s.b.LedgerShow(r.Context())
	reply(w, res, err)
}

func (s *ledgerServer) settle(w http.ResponseWriter, r *http.Request) {
	var req settleRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		writeError(w, err)
		return
	}
	res, err := s.b.LedgerSettle(r.Context(), req.Epoch)
	reply(w, res, err)
}

func (s *ledgerServer) verify(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		writeError(w, err)
		return
	}
	res, err := s.b.LedgerVerify(r.Context(), req.Epoch)
	reply(w, res, err)
}

// export streams the entries; like get, a failure after the first byte cuts the connection so
// the client cannot mistake a partial export for a whole one.
func (s *ledgerServer) export(w http.ResponseWriter, r *http.Request) {
	if !decodeEmpty(w, r) {
		return
	}
	gw := &getWriter{w: w, size: -1}
	err := s.b.LedgerExport(r.Context(), gw)
	if !gw.started {
		if err != nil {
			writeError(w, err)
			return
		}
		gw.begin() // an empty ledger
	}
	if err != nil {
		panic(http.ErrAbortHandler)
	}
}

// importEntries reads the raw export format (not JSON) as the request body.
func (s *ledgerServer) importEntries(w http.ResponseWriter, r *http.Request) {
	body := http.MaxBytesReader(w, r.Body, MaxImportBody)
	res, err := s.b.LedgerImport(r.Context(), body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = &Error{Code: CodeBadRequest, Message: fmt.Sprintf("import larger than %d bytes: split it", int64(MaxImportBody))}
	}
	reply(w, res, err)
}

// RegisterPartner registers a partner ID with this node as its author and payout.
func (c *Client) RegisterPartner(ctx context.Context, id, name string, shareBPS uint32) (*PartnerResult, error) {
	var res PartnerResult
	if err := c.call(ctx, "partner/register", registerPartnerRequest{ID: id, Name: name, ShareBPS: shareBPS}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) Partners(ctx context.Context) ([]PartnerInfo, error) {
	var res []PartnerInfo
	if err := c.call(ctx, "partner/ls", struct{}{}, &res); err != nil {
		return nil, err
	}
	return res, nil
}

func (c *Client) LedgerShow(ctx context.Context) (*LedgerSummary, error) {
	var res LedgerSummary
	if err := c.call(ctx, "ledger/show", struct{}{}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) LedgerSettle(ctx context.Context, epoch *uint64) (*payments.Settlement, error) {
	var res payments.Settlement
	if err := c.call(ctx, "ledger/settle", settleRequest{Epoch: epoch}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) LedgerVerify(ctx context.Context, epoch *uint64) (*VerifyResult, error) {
	var res VerifyResult
	if err := c.call(ctx, "ledger/verify", verifyRequest{Epoch: epoch}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// LedgerExport copies the daemon's export to w.
func (c *Client) LedgerExport(ctx context.Context, w io.Writer) error {
	resp, err := c.post(ctx, "ledger/export", struct{}{})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("ledger export cut short: %w", err)
	}
	return nil
}

// LedgerImport sends r, in LedgerExport's format, to the daemon.
func (c *Client) LedgerImport(ctx context.Context, r io.Reader) (*ImportResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+Prefix+"ledger/import", r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain")
	var res ImportResult
	if err := c.roundTrip(req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
