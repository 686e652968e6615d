package reputation

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"lukechampine.com/blake3"
)

// sortedStewards is the rendezvous order written the obvious way: sort by BLAKE3(file ‖ id).
func sortedStewards(file []byte, members []NodeID) []NodeID {
	out := slices.Clone(members)
	slices.SortFunc(out, func(a, b NodeID) int {
		ka := blake3.Sum256(append(slices.Clone(file), a...))
		kb := blake3.Sum256(append(slices.Clone(file), b...))
		return bytes.Compare(ka[:], kb[:])
	})
	return out
}

func TestStewardRankIsTheRendezvousOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		file := []byte(fmt.Sprintf("manifest-%d", trial))
		members := make([]NodeID, 1+rng.IntN(9))
		for i := range members {
			members[i] = NodeID(fmt.Sprintf("peer-%d-%d", trial, i))
		}
		want := sortedStewards(file, members)
		for r, m := range want {
			if got := StewardRank(file, members, m); got != r {
				t.Fatalf("trial %d: %s ranks %d, want %d", trial, m, got, r)
			}
		}
		if StewardRank(file, members, "stranger") != -1 {
			t.Fatal("a non-member has a rank")
		}
		// The leader is the first live member in that order.
		alive := map[NodeID]bool{}
		for _, m := range members {
			alive[m] = rng.IntN(2) == 0
		}
		for _, m := range members {
			// m leads iff no member before it in the order is alive (m itself is not asked).
			wantLead := true
			for _, before := range want[:StewardRank(file, members, m)] {
				wantLead = wantLead && !alive[before]
			}
			if got := IsLeader(file, members, m, func(p NodeID) bool { return alive[p] }); got != wantLead {
				t.Fatalf("trial %d: IsLeader(%s) = %v, want %v", trial, m, got, wantLead)
			}
		}
	}
}

func TestStewardRankDiffersPerFile(t *testing.T) {
	members := []NodeID{"a", "b", "c", "d", "e"}
	leads := map[NodeID]int{}
	for i := range 1000 {
		for _, m := range members {
			if StewardRank([]byte(fmt.Sprint(i)), members, m) == 0 {
				leads[m]++
			}
		}
	}
	for _, m := range members {
		if leads[m] < 150 || leads[m] > 250 { // binomial(1000, 0.2): mean 200, sd 12.6
			t.Fatalf("%s leads %d of 1000 files, want about 200: %v", m, leads[m], leads)
		}
	}
}

func TestRepairWait(t *testing.T) {
	if RepairWait(0, 60) != 0 || RepairWait(2, 60) != 2*RepairTakeoverRounds*60 {
		t.Fatal("RepairWait: leader must act at once, rank r after r·RepairTakeoverRounds intervals")
	}
}

func TestBookCandidate(t *testing.T) {
	p := DefaultParams()
	b := NewBook(p)
	for range p.VetAudits {
		b.Apply(Observation{Peer: "good", Outcome: AuditPass, Time: 100})
	}
	for range 60 {
		b.Apply(Observation{Peer: "bad", Outcome: AuditFail, Time: 100})
	}
	g := b.Candidate("good", "10.0.0.0/24", 5, 200)
	if !g.Vetted || g.Score <= 0 || g.Subnet != "10.0.0.0/24" || g.Free != 5 || g.ID != "good" {
		t.Fatalf("vetted honest node: %+v", g)
	}
	if c := b.Candidate("bad", "", 5, 200); c.Score != 0 {
		t.Fatalf("disqualified node scores %v, want 0", c.Score)
	}
	if c := b.Candidate("new", "", 5, 200); c.Vetted || c.Score != 1 {
		t.Fatalf("unknown node: %+v, want unvetted with full score", c)
	}
}
