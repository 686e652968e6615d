package node

import (
	"testing"

	"github.com/cairn-storage/cairn/reputation"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Scores survive a restart: what this node observed is saved to the repo and read back.
func TestScoresPersist(t *testing.T) {
	dir := t.TempDir()
	s, err := openScores(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := peer.ID("12D3KooWpeerunderobservation")
	for range 3 {
		s.observe(p, reputation.AuditFail, 0)
	}
	s.observe(p, reputation.AuditTimeout, 0)
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	before, _, _ := s.record(p)

	again, err := openScores(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, _, known := again.record(p)
	if !known || after.AuditsFailed != 3 || after.AuditsTimedOut != 1 || after.Score() != before.Score() ||
		after.Suspension() != before.Suspension() {
		t.Fatalf("after reopening: known %v, %+v; want %+v", known, after, before)
	}
}
