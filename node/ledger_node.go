package node

import (
	"context"
	"io"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/payments"
)

var _ api.LedgerBackend = (*Node)(nil)

// ledger is the node's ledger, opened in New and closed in Close.
func (n *Node) ledger() (*Ledger, error) {
	if err := n.ctx.Err(); err != nil {
		return nil, errLedgerClosed
	}
	return n.led, nil
}

func (n *Node) RegisterPartner(_ context.Context, id, name string, shareBPS uint32) (*api.PartnerResult, error) {
	l, err := n.ledger()
	if err != nil {
		return nil, err
	}
	return l.RegisterPartner(id, name, shareBPS)
}

func (n *Node) Partners(context.Context) ([]api.PartnerInfo, error) {
	l, err := n.ledger()
	if err != nil {
		return nil, err
	}
	return l.Partners()
}

func (n *Node) LedgerShow(context.Context) (*api.LedgerSummary, error) {
	l, err := n.ledger()
	if err != nil {
		return nil, err
	}
	return l.Show()
}

func (n *Node) LedgerExport(ctx context.Context, w io.Writer) error {
	l, err := n.ledger()
	if err != nil {
		return err
	}
	return l.Export(ctx, w)
}

func (n *Node) LedgerImport(ctx context.Context, r io.Reader) (*api.ImportResult, error) {
	l, err := n.ledger()
	if err != nil {
		return nil, err
	}
	return l.Import(ctx, r)
}

func (n *Node) LedgerSettle(_ context.Context, epoch *uint64) (*payments.Settlement, error) {
	l, err := n.ledger()
	if err != nil {
		return nil, err
	}
	return l.Settle(epoch)
}

func (n *Node) LedgerVerify(ctx context.Context, epoch *uint64) (*api.VerifyResult, error) {
	l, err := n.ledger()
	if err != nil {
		return nil, err
	}
	res, err := l.verifyLocal(epoch)
	if err != nil || res.Agree {
		return res, err
	}
	n.explainDisagreement(ctx, res)
	return res, nil
}
