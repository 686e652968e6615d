package payments

import (
	"bytes"
	"testing"
)

// planWorld is one file with three holders, epoch 5 of a 1000-second grid from fixtureTime.
type planWorld struct {
	p          EpochParams
	epoch      uint64
	start, end int64
	steward    *chain
	file       FileEvidence
}

func newPlanWorld(t *testing.T) *planWorld {
	w := &planWorld{p: EpochParams{Genesis: fixtureTime, Length: 1000}, epoch: 5, steward: newChain(t, 1)}
	w.start, w.end, _ = w.p.Bounds(w.epoch)
	w.file = FileEvidence{Manifest: testCID(cidCodecCBOR, 1), Owner: newTestKey(t, 200).id, Partner: "debian"}
	for i := range 3 {
		w.file.Holders = append(w.file.Holders, HolderEvidence{
			Holder:      newTestKey(t, byte(10+i)).id,
			ReceiptTime: w.start - 5000, // an old holder
			Shards:      []ShardRef{{CID: testCID(cidCodecRaw, byte(20+2*i)), Bytes: 1 << 20}, {CID: testCID(cidCodecRaw, byte(21+2*i)), Bytes: 1 << 20}},
		})
	}
	return w
}

func (w *planWorld) plan(t *testing.T) []Storage {
	t.Helper()
	out, err := PlanStorage(w.epoch, w.p, w.steward.key.id, []FileEvidence{w.file})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// holdersOf lists the distinct holders attested, in order.
func holdersOf(ss []Storage) [][]byte {
	var out [][]byte
	for _, s := range ss {
		if len(out) == 0 || !bytes.Equal(out[len(out)-1], s.Holder) {
			out = append(out, s.Holder)
		}
	}
	return out
}

func TestPlanStorageAuditedHolders(t *testing.T) {
	w := newPlanWorld(t)
	w.file.Holders[0].Passes = 3
	w.file.Holders[1].Passes, w.file.Holders[1].Misses = 1, 2 // passed once, unreachable twice
	w.file.Holders[2].Passes, w.file.Holders[2].Fails = 4, 1  // one failure withholds the lot
	got := w.plan(t)
	if len(got) != 4 {
		t.Fatalf("%d attestations, want 2 shards each of holders 0 and 1: %+v", len(got), got)
	}
	for i, s := range got {
		h := &w.file.Holders[i/2]
		want := Storage{Holder: h.Holder, Manifest: w.file.Manifest, Shard: h.Shards[i%2].CID,
			Owner: w.file.Owner, Partner: "debian", Bytes: 1 << 20, From: w.start, To: w.end, Audits: h.Passes}
		if !bytes.Equal(mustEncode(t, s), mustEncode(t, want)) {
			t.Errorf("attestation %d = %+v, want %+v", i, s, want)
		}
	}
	// Every planned body passes the validator in an entry signed at the epoch end.
	v := NewValidator(ValidatorParams{})
	for _, s := range got {
		if _, _, err := v.Add(w.steward.add(KindStorage, &s, w.end), w.end); err != nil {
			t.Fatalf("validator refused a planned attestation: %v", err)
		}
	}
}

func TestPlanStorageNewHolderFromReceipt(t *testing.T) {
	w := newPlanWorld(t)
	w.file.Holders[0].ReceiptTime = w.start + 400 // new this epoch, not audited yet
	w.file.Holders[1].ReceiptTime = w.start + 400 // new, but missed an audit
	w.file.Holders[1].Misses = 1
	w.file.Holders[2].ReceiptTime = w.start + 600 // new and audited since
	w.file.Holders[2].Passes = 2
	got := w.plan(t)
	if hs := holdersOf(got); len(hs) != 2 || !bytes.Equal(hs[0], w.file.Holders[0].Holder) || !bytes.Equal(hs[1], w.file.Holders[2].Holder) {
		t.Fatalf("attested %d holders, want holders 0 and 2", len(hs))
	}
	for _, s := range got {
		want := w.start + 400
		if bytes.Equal(s.Holder, w.file.Holders[2].Holder) {
			want = w.start + 600
		}
		if s.From != want || s.To != w.end {
			t.Errorf("span [%d, %d), want [%d, %d)", s.From, s.To, want, w.end)
		}
	}
	// Holders with no audits and an old receipt get nothing: there is no evidence this epoch.
	w = newPlanWorld(t)
	if got := w.plan(t); len(got) != 0 {
		t.Fatalf("%d attestations without evidence", len(got))
	}
}

func TestPlanStorageLeavesOutWhatTheValidatorRefuses(t *testing.T) {
	w := newPlanWorld(t)
	for i := range w.file.Holders {
		w.file.Holders[i].Passes = 1
	}
	w.file.Holders[0].Holder = w.steward.key.id          // the steward itself
	w.file.Holders[1].ReceiptTime = w.end + 10           // receipt renewed after the epoch
	w.file.Holders[2].Shards[0].Bytes = 0                // an empty shard
	w.file.Holders[2].Shards[1].Bytes = MaxShardSize + 1 // beyond any shard
	if got := w.plan(t); len(got) != 0 {
		t.Fatalf("planned %+v", got)
	}
	w.file.Holders[2].Shards[1].Bytes = MaxShardSize
	w.file.Holders[1].Holder = []byte("not a peer id")
	if got := w.plan(t); len(got) != 1 || got[0].Bytes != MaxShardSize {
		t.Fatalf("planned %+v, want only holder 2's full-size shard", got)
	}
}

func TestPlanStorageRefusesBadGrids(t *testing.T) {
	w := newPlanWorld(t)
	for _, p := range []EpochParams{{Length: 0}, {Genesis: fixtureTime, Length: MaxStorageSpan + 1}} {
		if _, err := PlanStorage(1, p, w.steward.key.id, []FileEvidence{w.file}); err == nil {
			t.Errorf("grid %+v accepted", p)
		}
	}
}

func mustEncode(t *testing.T, s Storage) []byte {
	t.Helper()
	b, err := EncodeBody(&s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
