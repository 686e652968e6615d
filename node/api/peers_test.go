package api

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// postBody returns the raw JSON an endpoint answers, as a script would see it.
func postBody(t *testing.T, url, endpoint string) string {
	t.Helper()
	c := NewClient(url, testToken)
	resp, err := c.post(context.Background(), endpoint, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: status %d %v: %s", endpoint, resp.StatusCode, err, b)
	}
	return string(b)
}

func TestPeersJSON(t *testing.T) {
	fb := newFake()
	srv, c := newTestServer(t, fb)

	fb.set(func() { fb.peersHook = func() []PeerInfo { return nil } })
	if body := postBody(t, srv.URL, "peers"); strings.TrimSpace(body) != "[]" {
		t.Fatalf("no peers: body %q, want []", body)
	}

	fb.set(func() {
		fb.peersHook = func() []PeerInfo {
			return []PeerInfo{
				{ID: "12D3KooWnew", Score: 0.75, Suspension: 1, Rank: 0.75, Status: "healthy", Vetted: true, AuditsPassed: 40},
				{PeerID: "12D3KooWold"},
			}
		}
	})
	var raw []map[string]any
	if err := json.Unmarshal([]byte(postBody(t, srv.URL, "peers")), &raw); err != nil || len(raw) != 2 {
		t.Fatalf("peers JSON: %v %v", raw, err)
	}
	for i, p := range raw {
		for _, key := range []string{"id", "peer_id", "addresses", "connected", "score", "suspension", "hearsay", "rank",
			"status", "vetted", "disqualified", "audits_passed", "audits_failed", "audits_timed_out"} {
			if _, ok := p[key]; !ok {
				t.Errorf("peer %d lacks %q: %v", i, key, p)
			}
		}
	}
	ps, err := c.Peers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Both names of the peer ID are filled, whichever the node set.
	if ps[0].PeerID != "12D3KooWnew" || ps[1].ID != "12D3KooWold" {
		t.Fatalf("ids not mirrored: %+v", ps)
	}
	if ps[0].Score != 0.75 || ps[0].Status != "healthy" || !ps[0].Vetted || ps[0].AuditsPassed != 40 {
		t.Fatalf("scores lost: %+v", ps[0])
	}
}
