package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// guard rejects anything but an authenticated POST from a local, non-browser client. The API
// moves whole files and deletes them, so a web page must never be able to reach it: browsers
// always send Origin on POST, and DNS rebinding shows up as a non-loopback Host.
func guard(token string, next http.Handler) http.Handler {
	// Hashing both sides gives equal-length inputs, so the comparison leaks not even the length.
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			writeJSON(w, http.StatusForbidden, &Error{Code: CodeBadRequest,
				Message: "cross-origin requests are not allowed"})
			return
		}
		if !loopbackHost(r.Host) {
			writeJSON(w, http.StatusForbidden, &Error{Code: CodeBadRequest,
				Message: "the API only answers requests addressed to a loopback host"})
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, &Error{Code: CodeBadRequest,
				Message: "method " + r.Method + " not allowed; the API takes POST only"})
			return
		}
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if token == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			writeJSON(w, http.StatusUnauthorized, &Error{Code: CodeUnauthorized,
				Message: "missing or wrong API token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header names this machine: localhost or a loopback IP.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// IsLoopbackAddr reports whether a host:port listen address is on a loopback interface, the only
// place the daemon may serve its API.
func IsLoopbackAddr(hostport string) bool {
	h, _, err := net.SplitHostPort(hostport)
	return err == nil && h != "" && loopbackHost(h)
}
