package node_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
)

// A holder that exits gracefully hands every shard to other nodes and its stewardship to the
// next closest node before it stops: afterwards every file it held is at full health without
// it, and reads byte-identical.
func TestGracefulExitKeepsFullHealth(t *testing.T) {
	net := fastNet(t, 8)
	up := net.Nodes[0]
	data, res := putRandom(t, up, 3<<20, 11)
	st := statFrom(t, up, res.Cap)
	// The leaver: a holder that is also a steward if there is one, else any holder but the uploader.
	var leaver *node.Node
	for _, seg := range st.Segments {
		for _, s := range seg.Shards {
			_, nd := nodeByID(net, s.Holder)
			if nd == up || nd == nil {
				continue
			}
			if leaver == nil || containsStr(st.Stewards, s.Holder) {
				leaver = nd
			}
		}
	}
	leaverID := leaver.Host().ID().String()
	er, err := leaver.Exit(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !er.Complete || er.Moved == 0 || er.Moved != er.Shards {
		t.Fatalf("exit result %+v", er)
	}
	select {
	case <-leaver.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("a complete exit did not signal the daemon to stop")
	}
	leaver.Close()

	after := statFrom(t, up, res.Cap)
	if !after.FullHealth {
		t.Fatalf("file not at full health after the exit: %+v", after.Segments)
	}
	for _, seg := range after.Segments {
		for _, s := range seg.Shards {
			if s.Holder == leaverID {
				t.Fatalf("shard %d of segment %d still answered by the leaver", s.Index, seg.Index)
			}
		}
	}
	if containsStr(after.Stewards, leaverID) {
		t.Fatalf("the leaver still serves the manifest: %v", after.Stewards)
	}
	var out bytes.Buffer
	if err := up.Get(ctxT(t), res.Cap, &out, func(int64) {}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("file differs after the exit")
	}
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
