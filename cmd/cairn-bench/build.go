package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// prepareBinary resolves -cairn or builds ./cmd/cairn into the work dir, and records which Go
// and revision the binary comes from.
func (b *bench) prepareBinary(ctx context.Context, m *machine) error {
	if b.opts.cairn != "" {
		exe, err := filepath.Abs(b.opts.cairn)
		if err != nil {
			return err
		}
		if st, err := os.Stat(exe); err != nil || st.IsDir() {
			return fmt.Errorf("-cairn %s: not an executable file", b.opts.cairn)
		}
		b.exe = exe
	} else {
		gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		mod := strings.TrimSpace(string(gomod))
		if err != nil || mod == "" || mod == os.DevNull {
			return errors.New("cannot find the cairn module (run from inside the repo, or pass -cairn PATH)")
		}
		b.exe = filepath.Join(b.work, "cairn")
		b.logf("building cairn: go build -o %s ./cmd/cairn", b.exe)
		t := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.exe, "./cmd/cairn")
		cmd.Dir = filepath.Dir(mod)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/cairn: %v\n%s", err, bytes.TrimSpace(out))
		}
		b.logf("built in %.1f s", time.Since(t).Seconds())
		m.CairnBuilt = true
		m.CairnRev = gitRevision(ctx, cmd.Dir) // used when the build was not VCS-stamped
	}
	m.CairnBinary = b.exe
	if goVersion, rev, ok := binaryVersion(b.exe); ok {
		m.CairnGo = goVersion
		if rev != "" {
			m.CairnRev = rev
		}
	}
	return nil
}

// binaryVersion reads a Go binary's toolchain and VCS stamp (12-digit revision, "+dirty" if
// built from a modified tree); rev is "" when the build was not stamped.
func binaryVersion(exe string) (goVersion, rev string, ok bool) {
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		return "", "", false
	}
	var modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && modified == "true" {
		rev += "+dirty"
	}
	return bi.GoVersion, rev, true
}

// gitRevision describes the source tree's commit, "+dirty" if tracked files changed; "" if unknown.
func gitRevision(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += "+dirty"
	}
	return rev
}
