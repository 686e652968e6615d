package kadcheck

import (
	"slices"
	"strings"
	"testing"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A hand-made event log: S seeds A and B; A names C; B names C again and D;
// C names E and the lookup ends with D still in flight.
func TestReplayDepths(t *testing.T) {
	S, A, B, C, D, E := peer.ID("S"), peer.ID("A"), peer.ID("B"), peer.ID("C"), peer.ID("D"), peer.ID("E")
	index := map[peer.ID]int32{S: 0, A: 1, B: 2, C: 3, D: 4, E: 5}
	resp := func(cause peer.ID, heard ...peer.ID) *dht.LookupEvent {
		var queried []peer.ID
		if cause != S {
			queried = []peer.ID{cause}
		}
		return dht.NewLookupEvent(S, [16]byte{}, "k", nil, dht.NewLookupUpdateEvent(cause, cause, heard, nil, queried, nil), nil)
	}
	req := func(p peer.ID) *dht.LookupEvent {
		return dht.NewLookupEvent(S, [16]byte{}, "k", dht.NewLookupUpdateEvent(S, S, nil, []peer.ID{p}, nil, nil), nil, nil)
	}
	end := dht.NewLookupEvent(S, [16]byte{}, "k", nil, nil, dht.NewLookupTerminateEvent(dht.LookupCompleted))
	events := []*dht.LookupEvent{
		resp(S, A, B), req(A), req(B),
		resp(A, C, B), req(C),
		resp(B, C, D), req(D),
		resp(C, E),
		end,
	}
	r, err := replay(S, index, 20, events)
	if err != nil {
		t.Fatal(err)
	}
	if r.hops != 2 || r.messages != 4 || r.followups != 2 || r.starved {
		t.Fatalf("hops %d, messages %d, follow-ups %d, starved %v; want 2, 4, 2 (D, E), false", r.hops, r.messages, r.followups, r.starved)
	}
	if len(r.answers) != 3 || r.answers[1].from != 2 || !slices.Equal(r.answers[1].peers, []int32{3, 4}) {
		t.Fatalf("answers %+v", r.answers)
	}
	// A and B were asked before any answer, C after one; D never answered.
	if r.order[1] != 1 || r.order[2] != 2 || r.order[3] != 2 || len(r.order) != 3 {
		t.Fatalf("order %v", r.order)
	}
	if r.inverted != 0 || r.pairs != 3 {
		t.Fatalf("%d of %d pairs of answers inverted, want 0 of 3", r.inverted, r.pairs)
	}
	// B answering before A is one inverted pair.
	swapped := slices.Clone(events)
	swapped[3], swapped[5] = resp(B, C, D), resp(A, C, B)
	swapped[4], swapped[6] = req(D), req(C)
	if r, err := replay(S, index, 20, swapped); err != nil || r.inverted != 1 || r.pairs != 3 {
		t.Fatalf("swapped: %d of %d pairs inverted, error %v", r.inverted, r.pairs, err)
	}

	for name, evs := range map[string][]*dht.LookupEvent{
		"after its end":  append(slices.Clone(events), resp(D)),
		"never asked":    {resp(S, A, B), resp(A, C), end},
		"no termination": events[:len(events)-1],
		"never heard of": {resp(S, A), req(A), resp(A), req(E), resp(E), end},
	} {
		if _, err := replay(S, index, 20, evs); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}
