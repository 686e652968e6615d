package node_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node"
	"github.com/cairn-storage/cairn/node/testnet"
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

// An exit interrupted midway resumes by itself when the node restarts: the repo remembers it,
// the daemon takes no new shards meanwhile, and the files end at full health without the node.
func TestExitResumesAfterRestart(t *testing.T) {
	net := testnet.Start(t, 8, testnet.FixedPorts(t))
	up := net.Nodes[0]
	var caps []string
	held := map[string]int{}
	for i := range 2 {
		_, res := putRandom(t, up, 1<<20+5, uint64(70+i))
		caps = append(caps, res.Cap)
		for _, seg := range statFrom(t, up, res.Cap).Segments {
			for _, s := range seg.Shards {
				held[s.Holder]++
			}
		}
	}
	li := -1
	for i, nd := range net.Nodes[1:] {
		if id := nd.Host().ID().String(); held[id] > 0 && (li < 0 || held[id] > held[net.Nodes[li].Host().ID().String()]) {
			li = i + 1
		}
	}
	leaverID := net.Nodes[li].Host().ID().String()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	er, err := net.Nodes[li].Exit(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if er.Complete {
		t.Fatalf("an exit cut short after 50 ms reports complete: %+v", er)
	}
	nd := net.Restart(t, li)
	select {
	case <-nd.Exited():
	case <-time.After(2 * time.Minute):
		t.Fatal("the restarted node did not finish its exit")
	}
	nd.Close()
	for i, c := range caps {
		st := statFrom(t, up, c)
		if !st.FullHealth {
			t.Fatalf("file %d not at full health after the resumed exit", i)
		}
		for _, seg := range st.Segments {
			for _, s := range seg.Shards {
				if s.Holder == leaverID {
					t.Fatalf("file %d: shard %d still answered by the leaver", i, s.Index)
				}
			}
		}
	}
}
