package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/payments"
)

// fakeLedgerNode adds a scripted ledger to fakeNode.
type fakeLedgerNode struct {
	*fakeNode
	registered []string // ids
	imported   string
	importRes  *api.ImportResult
}

func (f *fakeLedgerNode) RegisterPartner(_ context.Context, id, name string, bps uint32) (*api.PartnerResult, error) {
	f.registered = append(f.registered, id)
	return &api.PartnerResult{ID: id, Name: name, ShareBPS: bps, Payout: "12D3KooWfake", Owner: "12D3KooWfake", Mine: true, Seq: 1}, nil
}

func (f *fakeLedgerNode) Partners(context.Context) ([]api.PartnerInfo, error) {
	return []api.PartnerInfo{{ID: "acme", Name: "Acme", ShareBPS: 100, Payout: "12D3KooWfake", Mine: true}}, nil
}

func (f *fakeLedgerNode) LedgerShow(context.Context) (*api.LedgerSummary, error) {
	return &api.LedgerSummary{Entries: 2, Kinds: map[string]int{"partner": 2}, Authors: 1, Excluded: []string{}}, nil
}

func (f *fakeLedgerNode) LedgerExport(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, "AAAA\nBBBB\n")
	return err
}

func (f *fakeLedgerNode) LedgerImport(_ context.Context, r io.Reader) (*api.ImportResult, error) {
	b, err := io.ReadAll(r)
	f.imported = string(b)
	return f.importRes, err
}

func (f *fakeLedgerNode) LedgerSettle(_ context.Context, epoch *uint64) (*payments.Settlement, error) {
	e := uint64(7)
	if epoch != nil {
		e = *epoch
	}
	return &payments.Settlement{Epoch: e, Charges: []payments.Line{{Account: "o", Amount: 10, Storage: 10}},
		Payouts: []payments.Line{{Account: "h", Amount: 9, Storage: 9}}, PartnerShares: []payments.Line{}, Remainder: 1}, nil
}

func (f *fakeLedgerNode) LedgerVerify(_ context.Context, epoch *uint64) (*api.VerifyResult, error) {
	if epoch != nil && *epoch == 3 {
		return &api.VerifyResult{Epoch: 3, Root: "aa", Statements: []api.StatementView{{Author: "12D3KooWother", Root: "bb"}},
			Differences: []api.EntryDifference{{Peer: "12D3KooWother", Side: "missing_here", Author: "12D3KooWx", Seq: 4, Kind: "download"}}}, nil
	}
	return &api.VerifyResult{Epoch: 7, Root: "aa", Agree: true, Agreeing: 1,
		Statements: []api.StatementView{{Author: "12D3KooWother", Root: "aa", Agrees: true}}, Differences: []api.EntryDifference{}}, nil
}

func TestLedgerVerifyExitCode(t *testing.T) {
	r := fakeDaemon(t, &fakeLedgerNode{fakeNode: newFakeNode()})
	res := cli(t, "--repo", r, "ledger", "verify", "--json")
	mustOK(t, res)
	var got api.VerifyResult
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil || got.Epoch != 7 || !got.Agree {
		t.Fatalf("verify --json: %v %+v", err, got)
	}
	res = cli(t, "--repo", r, "ledger", "verify", "--epoch", "3")
	mustFail(t, res, "disagree")
	if !strings.Contains(res.stdout, "missing_here") || !strings.Contains(res.stdout, "DISAGREES") {
		t.Fatalf("verify output does not name the differing entry:\n%s", res.stdout)
	}
}

func TestPartnerRegisterJSON(t *testing.T) {
	fn := &fakeLedgerNode{fakeNode: newFakeNode()}
	r := fakeDaemon(t, fn)
	res := cli(t, "--repo", r, "partner", "register", "--name", "My Project (OS)!", "--share-bps", "250", "--json")
	mustOK(t, res)
	var got api.PartnerResult
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, res.stdout)
	}
	if got.ID != "my-project-os" || got.ShareBPS != 250 {
		t.Fatalf("registered %+v, want id my-project-os at 250 bps", got)
	}
	mustOK(t, cli(t, "--repo", r, "partner", "register", "--name", "x", "--share-bps", "1", "--id", "explicit.id"))
	if strings.Join(fn.registered, ",") != "my-project-os,explicit.id" {
		t.Fatalf("registered ids %v", fn.registered)
	}
	mustFail(t, cli(t, "--repo", r, "partner", "register", "--name", "!!!", "--share-bps", "1"), "pass --id")
	if res := cli(t, "--repo", r, "partner", "ls"); res.code != 0 || !strings.Contains(res.stdout, "acme") {
		t.Fatalf("partner ls: %+v", res)
	}
}

func TestLedgerImportReportsRejections(t *testing.T) {
	fn := &fakeLedgerNode{fakeNode: newFakeNode(), importRes: &api.ImportResult{Accepted: 1, RejectedCount: 2,
		Rejected: []api.ImportRejection{{Line: 2, Reason: "bad_signature", Detail: "sig"}, {Line: 3, Reason: "malformed"}}}}
	r := fakeDaemon(t, fn)
	in := writeFile(t, t.TempDir(), "entries.txt", []byte("AAAA\nBBBB\n%%%\n"))

	res := cli(t, "--repo", r, "ledger", "import", in, "--json")
	if res.code != 1 {
		t.Fatalf("exit %d with rejections, want 1", res.code)
	}
	var got api.ImportResult
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, res.stdout)
	}
	if got.Accepted != 1 || len(got.Rejected) != 2 || got.Rejected[0].Reason != "bad_signature" || got.Rejected[1].Reason != "malformed" {
		t.Fatalf("import result %+v", got)
	}
	if fn.imported != "AAAA\nBBBB\n%%%\n" {
		t.Fatalf("daemon received %q", fn.imported)
	}
	res = cli(t, "--repo", r, "ledger", "import", in)
	mustFail(t, res, "2 of 3 entries rejected")
	if !strings.Contains(res.stdout, "line 2: bad_signature") || !strings.Contains(res.stdout, "line 3: malformed") {
		t.Fatalf("human output lacks the reasons:\n%s", res.stdout)
	}

	fn.importRes = &api.ImportResult{Accepted: 2, Rejected: []api.ImportRejection{}}
	mustOK(t, cli(t, "--repo", r, "ledger", "import", in))
}

func TestLedgerShowSettleExport(t *testing.T) {
	r := fakeDaemon(t, &fakeLedgerNode{fakeNode: newFakeNode()})
	if res := cli(t, "--repo", r, "ledger", "export"); res.code != 0 || res.stdout != "AAAA\nBBBB\n" {
		t.Fatalf("export: %+v", res)
	}
	if res := cli(t, "--repo", r, "ledger", "show"); res.code != 0 || !strings.Contains(res.stdout, "partner: 2") {
		t.Fatalf("show: %+v", res)
	}
	res := cli(t, "--repo", r, "ledger", "settle", "--epoch", "3", "--json")
	mustOK(t, res)
	var st map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"epoch", "root", "charges", "payouts", "partner_shares", "fee", "remainder"} {
		if _, ok := st[k]; !ok {
			t.Errorf("settle --json lacks %q: %s", k, res.stdout)
		}
	}
	if st["epoch"] != 3.0 {
		t.Errorf("epoch %v, want 3", st["epoch"])
	}
	res = cli(t, "--repo", r, "ledger", "settle", "--csv")
	mustOK(t, res)
	if !strings.HasPrefix(res.stdout, "section,account,") || !strings.Contains(res.stdout, "remainder,,,1,") {
		t.Fatalf("csv:\n%s", res.stdout)
	}
}
