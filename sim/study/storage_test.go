package study

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/sim"
	"github.com/cairn-storage/cairn/sim/churn"
	"github.com/cairn-storage/cairn/sim/scenario"
)

// small is durability-10k at 3,000 nodes and 500 files: the same churn, so
// about a quarter of the nodes depart, in a fraction of a second.
func small(t *testing.T) scenario.Scenario {
	t.Helper()
	sc := load(t, "durability-10k.toml")
	n := 3000
	sc, err := sc.Apply(scenario.Overrides{Nodes: &n})
	if err != nil {
		t.Fatal(err)
	}
	sc.Storage.Files = 500
	return sc
}

// Same scenario and seed: storage.csv and summary.json are the same bytes;
// another seed changes them. The files say what the run did.
func TestStudyStorageDeterministic(t *testing.T) {
	sc := small(t)
	a, ra := runWrite(t, sc)
	b, _ := runWrite(t, sc)
	for _, f := range []string{FileStorage, FileSummary, FileScenario} {
		if x, y := read(t, a, f), read(t, b, f); !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs of the same scenario:\n%s\n---\n%s", f, x, y)
		}
	}
	seed := sc.Seed + 1
	other, err := sc.Apply(scenario.Overrides{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := runWrite(t, other)
	if bytes.Equal(read(t, a, FileStorage), read(t, c, FileStorage)) {
		t.Error("another seed wrote the same storage.csv")
	}

	lines := strings.Split(strings.TrimSpace(string(read(t, a, FileStorage))), "\n")
	if int64(len(lines)) != sc.StorageSamples()+1 || lines[0]+"\n" != storageHeader ||
		strings.Count(lines[1], ",") != strings.Count(storageHeader, ",") {
		t.Fatalf("storage.csv (%d samples expected):\n%s", sc.StorageSamples(), strings.Join(lines, "\n"))
	}
	for _, f := range []string{FileLookups, FileHopsPNG, FileLivePNG} {
		if _, err := os.Stat(filepath.Join(a, f)); !os.IsNotExist(err) {
			t.Errorf("%s written without [kademlia]: %v", f, err)
		}
	}
	if _, err := png.Decode(bytes.NewReader(read(t, a, FileDurabilityPNG))); err != nil {
		t.Errorf("%s: %v", FileDurabilityPNG, err)
	}
	var sum struct {
		Scenario map[string]any  `json:"scenario"`
		Storage  *StorageSummary `json:"storage"`
	}
	if err := json.Unmarshal(read(t, a, FileSummary), &sum); err != nil {
		t.Fatal(err)
	}
	if s := sum.Storage; s == nil || s.Segments != 2000 || s.SegmentsLost != ra.Durability[len(ra.Durability)-1].SegmentsLost ||
		s.Samples != len(ra.Durability) || sum.Scenario["storage"].(map[string]any)["files"] != 500.0 {
		t.Fatalf("summary.json storage: %+v, scenario %v", sum.Storage, sum.Scenario)
	}
	back, err := scenario.Load(filepath.Join(a, FileScenario))
	if err != nil || back.Storage == nil || *back.Storage != *sc.Storage || back.Churn != sc.Churn {
		t.Fatalf("scenario.toml reads back as %+v, %v", back, err)
	}
	if ra.StorageLine() == "" || ra.Run.StateBytes <= 0 {
		t.Fatalf("storage line %q, state bytes %d", ra.StorageLine(), ra.Run.StateBytes)
	}
}

// The shipped scenario: about a quarter of the nodes depart in 30 days and the
// segments lost at the end are near the binomial formula at the departed
// fraction (a loose band: segments share nodes, so the count varies more than
// a binomial one). Losses and theory only grow.
func TestStudyStorageTheory(t *testing.T) {
	_, r := runWrite(t, load(t, "durability-10k.toml"))
	s := r.Summary.Storage
	t.Logf("%s", r.StorageLine())
	if s.DepartedFraction < 0.2 || s.DepartedFraction > 0.3 {
		t.Errorf("departed fraction %.4f, want 0.2..0.3", s.DepartedFraction)
	}
	if s.SegmentLoss < 0.5*s.TheorySegmentLoss || s.SegmentLoss > 2*s.TheorySegmentLoss+0.002 || s.SegmentsLost == 0 {
		t.Errorf("segment loss %.5f, theory %.5f: outside [0.5×, 2× + 0.002]", s.SegmentLoss, s.TheorySegmentLoss)
	}
	if s.FilesLost > s.SegmentsLost || s.FilesLost*s.SegmentsPerFile < s.SegmentsLost {
		t.Errorf("%d files lost for %d segments", s.FilesLost, s.SegmentsLost)
	}
	for i := 1; i < len(r.Durability); i++ {
		p, c := r.Durability[i-1], r.Durability[i]
		if c.SegmentsLost < p.SegmentsLost || c.Departed < p.Departed || c.Theory < p.Theory || c.Live+c.Departed != 10000 {
			t.Fatalf("sample %d %+v after %+v", i, c, p)
		}
	}
}

// Without churn nothing departs and nothing is lost; with [kademlia] too, the
// lookups are those of the scenario without [storage] (separate streams).
func TestStudyStorageWithLookups(t *testing.T) {
	still := small(t)
	still.Churn = churn.Model{}
	_, r := runWrite(t, still)
	if s := r.Summary.Storage; s.DepartedAtEnd != 0 || s.SegmentsLost != 0 || s.TheorySegmentLoss != 0 {
		t.Fatalf("no churn: %+v", s)
	}

	sc := load(t, "lookup-1k.toml")
	plain, _ := runWrite(t, sc)
	sc.Storage = &scenario.Storage{Files: 100, SegmentsPerFile: 2, K: 2, N: 4, ShardSize: 1 << 20, SampleEvery: 3 * sim.Hour}
	both, r := runWrite(t, sc)
	if !bytes.Equal(read(t, plain, FileLookups), read(t, both, FileLookups)) {
		t.Error("adding [storage] changed lookups.csv")
	}
	if len(r.Durability) != 9 || r.Summary.Storage == nil || r.Summary.Samples != 13 {
		t.Fatalf("%d storage samples, %d lookup samples", len(r.Durability), r.Summary.Samples)
	}
	for _, f := range []string{FileLookups, FileStorage, FileHopsPNG, FileDurabilityPNG} {
		read(t, both, f)
	}
}
