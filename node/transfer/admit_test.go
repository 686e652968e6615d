package transfer

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/node/store"
	"github.com/cairn-storage/cairn/node/wire"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A holder whose Admit refuses an uploader (unsettled charges) turns its puts away before the
// go-ahead, with payment_required, and stores nothing; other uploaders are unaffected.
func TestAdmitRefusesAnUploader(t *testing.T) {
	srv := newHost(t)
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	server := NewServer(srv, st, NewStewardship(st, nil), nil, "test", slog.New(slog.DiscardHandler))
	debtor, payer := newHost(t), newHost(t)
	connect(t, debtor, srv)
	connect(t, payer, srv)
	server.Admit = func(p peer.ID) error {
		if p == debtor.ID() {
			return errors.New("owes 12 units")
		}
		return nil
	}
	data := []byte("a shard of someone who does not pay")
	id := shardCID(data)
	err = NewClient(debtor, nil, nil).PutShard(ctx(t), srv.ID(), id, data, [32]byte{1})
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.CodePaymentRequired || !strings.Contains(re.Msg, "unsettled charges above threshold") {
		t.Fatalf("refused uploader's put: %v, want payment_required naming unsettled charges", err)
	}
	if st.Has(id) || st.Used() != 0 {
		t.Fatalf("refused put stored something (has %v, used %d)", st.Has(id), st.Used())
	}
	if err := NewClient(payer, nil, nil).PutShard(ctx(t), srv.ID(), id, data, [32]byte{2}); err != nil || !st.Has(id) {
		t.Fatalf("other uploader's put: %v (stored %v)", err, st.Has(id))
	}
	// Reading is not admission's business: the refused peer still gets shards.
	if got, err := NewClient(debtor, nil, nil).GetShard(ctx(t), srv.ID(), id, int64(len(data)), nil); err != nil || string(got) != string(data) {
		t.Fatalf("refused uploader's get: %v", err)
	}
}
