package main

// Process-level test of the ledger on a loopback devnet with --fast (15 s epochs, statements
// 5 s after): a partner registered on one node, tagged and untagged files put and read, and
// every node settling the epoch to the same root, verifying it against the others' signed
// statements, and refusing a forged, a repeated and a garbage import line.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-storage/cairn/node/api"
	"github.com/cairn-storage/cairn/payments"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ledgerShow is "cairn ledger show --json" of the node at dir.
func ledgerShow(t *testing.T, dir string) api.LedgerSummary {
	t.Helper()
	var s api.LedgerSummary
	if err := procOK(t, proc(t, dir, "ledger", "show", "--json")).decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// ledgerSettle is "cairn ledger settle --epoch E --json" of the node at dir.
func ledgerSettle(t *testing.T, dir string, epoch uint64) payments.Settlement {
	t.Helper()
	var st payments.Settlement
	r := procOK(t, proc(t, dir, "ledger", "settle", "--epoch", strconv.FormatUint(epoch, 10), "--json"))
	if err := r.decode(&st); err != nil {
		t.Fatalf("settle --json %q: %v", r.stdout, err)
	}
	return st
}

// ledgerVerify is "cairn ledger verify --epoch E --json" of the node at dir, with its exit code.
func ledgerVerify(t *testing.T, dir string, epoch uint64) (api.VerifyResult, int) {
	t.Helper()
	var v api.VerifyResult
	r := proc(t, dir, "ledger", "verify", "--epoch", strconv.FormatUint(epoch, 10), "--json")
	if err := r.decode(&v); err != nil {
		t.Fatalf("verify --json (exit %d) %q %s: %v", r.code, r.stdout, r.stderr, err)
	}
	return v, r.code
}

// partnersOf is "cairn partner ls --json" of the node at dir.
func partnersOf(t *testing.T, dir string) []api.PartnerInfo {
	t.Helper()
	var ps []api.PartnerInfo
	if err := procOK(t, proc(t, dir, "partner", "ls", "--json")).decode(&ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

// exportLines is "cairn ledger export" of the node at dir, one base64 entry per element.
func exportLines(t *testing.T, dir string) []string {
	t.Helper()
	return strings.Fields(procOK(t, proc(t, dir, "ledger", "export")).stdout)
}

func total(ls []payments.Line) payments.Amount {
	var s payments.Amount
	for _, l := range ls {
		s += l.Amount
	}
	return s
}

// startOfEpochWithRoom returns once at least room is left of the current epoch (per the
// node's grid), sleeping into the next one if needed, and returns the epoch it is in.
func startOfEpochWithRoom(t *testing.T, s api.LedgerSummary, room time.Duration) uint64 {
	t.Helper()
	length := time.Duration(s.EpochLength) * time.Second
	if length < room {
		t.Fatalf("epochs of %s leave no %s of room", length, room)
	}
	since := time.Since(time.Unix(s.Genesis, 0)) % length
	if left := length - since; left < room {
		time.Sleep(left + 300*time.Millisecond)
	}
	return uint64(time.Since(time.Unix(s.Genesis, 0)) / length)
}

func TestDevnetLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet of daemons and waits for an epoch to close")
	}
	const nodes = 5
	start := time.Now()
	d := startDevnet(t, nodes, "--k", "2", "--n", "4", "--fast")
	dumpLogsOnFailure(t, d, nodes)
	ids := devnetIDs(t, d, nodes)
	all := []int{1, 2, 3, 4, 5}

	// 1. Acme registers on node-1, which is its payout; every node learns it by gossip.
	var reg api.PartnerResult
	if err := procOK(t, proc(t, d.repo(1), "partner", "register", "--name", "Acme", "--share-bps", "2000", "--json")).decode(&reg); err != nil {
		t.Fatal(err)
	}
	if reg.ID != "acme" || reg.ShareBPS != 2000 || !reg.Mine || reg.Payout != idOf(ids, 1) {
		t.Fatalf("partner register: %+v, want acme at 2000 bps paid to node-1 %s", reg, idOf(ids, 1))
	}
	for _, i := range all {
		waitUntil(t, 30*time.Second, "node-"+strconv.Itoa(i)+" to learn partner acme", func() bool {
			return slices.ContainsFunc(partnersOf(t, d.repo(i)), func(p api.PartnerInfo) bool {
				return p.ID == reg.ID && p.ShareBPS == 2000 && p.Payout == idOf(ids, 1) && p.Mine == (i == 1)
			})
		})
	}
	if ls := procOK(t, proc(t, d.repo(2), "partner", "ls")).stdout; !strings.Contains(ls, "acme") || !strings.Contains(ls, "Acme") {
		t.Fatalf("partner ls on node-2:\n%s", ls)
	}

	// 2. Usage inside one epoch: a tagged file put on node-2 and read twice by each other node,
	// an untagged one put on node-3 and read on node-1. Its two data shards are ~159 KB: each
	// served whole is worth one micro-unit of egress at the default price (7,000 per GiB), so
	// the eight reads give the partner a revenue of several units and a share of at least one.
	fileP, dataP := writeRandom(t, 310<<10, 71)
	fileU, dataU := writeRandom(t, 300<<10, 72)
	readers := map[int]int{1: 3, 3: 2, 4: 2, 5: 2} // node → gets
	downloads := map[int]int{}
	for i := range readers {
		downloads[i] = ledgerShow(t, d.repo(i)).Kinds["download"]
	}
	show2 := ledgerShow(t, d.repo(2))
	began := startOfEpochWithRoom(t, show2, 11*time.Second)
	usage := time.Now()
	resP := put(t, d.repo(2), fileP, "--partner", reg.ID)
	resU := put(t, d.repo(3), fileU)
	getAll(t, d, []read{{1, resP.Cap, dataP}, {3, resP.Cap, dataP}, {4, resP.Cap, dataP}, {5, resP.Cap, dataP},
		{1, resP.Cap, dataP}, {3, resP.Cap, dataP}, {4, resP.Cap, dataP}, {5, resP.Cap, dataP}, {1, resU.Cap, dataU}})
	// Receipts are countersigned in the background: wait for at least one per get (each get
	// reads at least one shard from another node).
	for i, gets := range readers {
		waitUntil(t, 10*time.Second, "download receipts on node-"+strconv.Itoa(i), func() bool {
			return ledgerShow(t, d.repo(i)).Kinds["download"] >= downloads[i]+gets
		})
	}

	// 3. The epoch of that usage, and its statements: due 5 s after it ends.
	show2 = ledgerShow(t, d.repo(2))
	epoch := show2.Epoch
	if epoch != began {
		t.Fatalf("usage began in epoch %d and ended in %d: this machine is too slow for 15 s epochs", began, epoch)
	}
	_, end, err := payments.EpochParams{Genesis: show2.Genesis, Length: show2.EpochLength}.Bounds(epoch)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("usage in epoch %d took %s, %s before its end", epoch, time.Since(usage).Round(time.Millisecond), time.Until(time.Unix(end, 0)).Round(time.Millisecond))

	// 4 and 5. Every node settles the epoch to one root and finds it in the other four nodes'
	// signed statements. Statements come 5 s after the end, then spread by gossip.
	due := time.Unix(end, 0).Add(5 * time.Second)
	waitUntil(t, time.Until(due)+40*time.Second, "every node's verify to agree with 4 statements", func() bool {
		if time.Now().Before(due) {
			return false
		}
		for _, i := range all {
			v, code := ledgerVerify(t, d.repo(i), epoch)
			if len(v.Statements) != nodes-1 || !v.Agree || code != 0 {
				return false
			}
		}
		return true
	})
	t.Logf("statements of epoch %d agree %s after its end", epoch, time.Since(time.Unix(end, 0)).Round(time.Second))
	var root payments.Root
	for _, i := range all {
		v, code := ledgerVerify(t, d.repo(i), epoch)
		if code != 0 || !v.Agree || v.Agreeing != nodes-1 || len(v.Differences) != 0 {
			t.Fatalf("verify on node-%d: exit %d, %+v", i, code, v)
		}
		if r := procOK(t, proc(t, d.repo(i), "ledger", "verify", "--epoch", strconv.FormatUint(epoch, 10))); !strings.Contains(r.stdout, "agrees with 4 other statement(s), 4 agreeing") {
			t.Fatalf("verify on node-%d:\n%s", i, r.stdout)
		}
		st := ledgerSettle(t, d.repo(i), epoch)
		checkStatement(t, st, reg, idOf(ids, 2))
		if i == 1 {
			root = st.Root
			t.Logf("epoch %d root %s: %d usage entries, charges %d, payouts %d, partner shares %d, fee %d, remainder %d",
				epoch, st.Root, st.Entries, total(st.Charges), total(st.Payouts), total(st.PartnerShares), st.Fee, st.Remainder)
			t.Logf("partner line: %+v", st.PartnerShares[0])
		}
		if st.Epoch != epoch || st.Root != root || st.Root.String() != v.Root {
			t.Fatalf("node-%d settles epoch %d to %s (verify says %s), node-1 to %s", i, st.Epoch, st.Root, v.Root, root)
		}
	}

	// The CSV form: a header, then a row per line, the fee and the remainder.
	rows, err := csv.NewReader(strings.NewReader(procOK(t, proc(t, d.repo(3), "ledger", "settle", "--epoch", strconv.FormatUint(epoch, 10), "--csv")).stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "section,account,partner,amount,storage,egress,revenue,share_bps" {
		t.Fatalf("settle --csv: %q", rows)
	}
	if !slices.ContainsFunc(rows[1:], func(r []string) bool { return r[0] == payments.SectionPartnerShares && r[2] == reg.ID }) {
		t.Fatalf("settle --csv has no partner_shares row for %s: %q", reg.ID, rows)
	}

	// 6. Node-4 imports a forged copy of one of node-2's entries, an entry it already has and
	// a garbage line: all three refused, each for its reason, and the settlement unchanged.
	have := exportLines(t, d.repo(4))
	var forged, dup string
	for _, line := range exportLines(t, d.repo(2)) {
		if !slices.Contains(have, line) {
			continue // node-4 may not have it yet: it would be out of order, not forged
		}
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		e, err := payments.Decode(b)
		if err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		if forged == "" && peer.ID(e.Author).String() == idOf(ids, 2) {
			e.Sig[len(e.Sig)/2] ^= 0x01
			fb, err := payments.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			forged = base64.StdEncoding.EncodeToString(fb)
		} else if dup == "" {
			dup = line
		}
	}
	if forged == "" || dup == "" {
		t.Fatalf("node-2's export has no two entries node-4 holds (forged %v, dup %v)", forged != "", dup != "")
	}
	imp := filepath.Join(t.TempDir(), "import.txt")
	if err := os.WriteFile(imp, []byte(forged+"\n"+dup+"\nthis is not an entry!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := proc(t, d.repo(4), "ledger", "import", imp, "--json")
	var ir api.ImportResult
	if err := r.decode(&ir); err != nil {
		t.Fatalf("import --json (exit %d) %q %s: %v", r.code, r.stdout, r.stderr, err)
	}
	want := []string{string(payments.ReasonBadSignature), string(payments.ReasonDuplicate), string(payments.ReasonMalformed)}
	var got []string
	for i, rej := range ir.Rejected {
		if rej.Line != i+1 {
			t.Fatalf("rejection %d is of line %d: %+v", i, rej.Line, ir)
		}
		got = append(got, rej.Reason)
	}
	if r.code == 0 || ir.Accepted != 0 || ir.RejectedCount != 3 || !slices.Equal(got, want) {
		t.Fatalf("import: exit %d, %+v; want non-zero, 0 accepted, reasons %v", r.code, ir, want)
	}
	procFail(t, proc(t, d.repo(4), "ledger", "import", imp), "3 of 3 entries rejected")
	if st := ledgerSettle(t, d.repo(4), epoch); st.Root != root {
		t.Fatalf("node-4's root of epoch %d changed after the import: %s, was %s", epoch, st.Root, root)
	}
	if v, code := ledgerVerify(t, d.repo(4), epoch); code != 0 || !v.Agree {
		t.Fatalf("verify on node-4 after the import: exit %d, %+v", code, v)
	}
	if s := ledgerShow(t, d.repo(4)); len(s.Excluded) != 0 || s.ForkProofs != 0 {
		t.Fatalf("node-4 excluded authors after a forged import: %+v", s)
	}
	t.Logf("done in %s", time.Since(start).Round(time.Second))
}

// read is one get of a capability and the bytes it must give.
type read struct {
	node int
	cap  string
	want []byte
}

// getAll runs the reads at once, as separate CLI processes, so that they fit in one epoch
// even on a slow or race-instrumented build, and checks each output is byte-identical.
func getAll(t *testing.T, d *devnetProc, reads []read) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for j, r := range reads {
		wg.Go(func() {
			out := filepath.Join(dir, fmt.Sprintf("out-%d.bin", j))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, self, "--repo", d.repo(r.node), "get", r.cap, "-o", out)
			cmd.Env = append(os.Environ(), asCLI+"=1")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[j] = fmt.Errorf("get on node-%d: %v: %s", r.node, err, b)
				return
			}
			got, err := os.ReadFile(out)
			if err == nil && !bytes.Equal(got, r.want) {
				err = fmt.Errorf("get on node-%d: %d bytes, differ from the %d put", r.node, len(got), len(r.want))
			}
			errs[j] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// checkStatement checks that st conserves money and pays partner reg its share of the revenue
// of the tagged file, whose only owner is uploader.
func checkStatement(t *testing.T, st payments.Settlement, reg api.PartnerResult, uploader string) {
	t.Helper()
	if c, p := total(st.Charges), total(st.Payouts)+total(st.PartnerShares)+st.Fee+st.Remainder; c != p || c <= 0 {
		t.Fatalf("epoch %d: charges %d, payouts+shares+fee+remainder %d: %+v", st.Epoch, c, p, st)
	}
	if len(st.PartnerShares) != 1 {
		t.Fatalf("epoch %d: partner shares %+v, want one line for %s", st.Epoch, st.PartnerShares, reg.ID)
	}
	l := st.PartnerShares[0]
	if l.Partner != reg.ID || l.Account != reg.Payout || l.ShareBPS != 2000 || l.Revenue <= 0 || l.Amount != l.Revenue*2000/10000 || l.Amount <= 0 {
		t.Fatalf("epoch %d: partner line %+v, want %s paid to %s floor(revenue·2000/10000) > 0", st.Epoch, l, reg.ID, reg.Payout)
	}
	i := slices.IndexFunc(st.Charges, func(c payments.Line) bool { return c.Account == uploader })
	if i < 0 || st.Charges[i].Amount < l.Revenue {
		t.Fatalf("epoch %d: the uploader %s is charged less than the partner's revenue %d: %+v", st.Epoch, uploader, l.Revenue, st.Charges)
	}
}
