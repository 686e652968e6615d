package node

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/cairn-storage/cairn/node/api"
)

// uploadsFile lists the files put through this node, with their capabilities, for `cairn ls`.
// Like a Tahoe-LAFS alias, it holds read capabilities, so it lives in the private repo (0600).
const uploadsFile = "uploads.json"

type uploads struct {
	path string
	mu   sync.Mutex
}

func openUploads(repoPath string) (*uploads, error) {
	u := &uploads{path: filepath.Join(repoPath, uploadsFile)}
	_, err := u.load()
	return u, err
}

func (u *uploads) load() ([]api.ListEntry, error) {
	b, err := os.ReadFile(u.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []api.ListEntry
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// save replaces the file atomically so a crash leaves either the old or the new list.
func (u *uploads) save(list []api.ListEntry) error {
	sort.Slice(list, func(i, j int) bool { return list[i].Created < list[j].Created })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp := u.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, u.path)
}

func (u *uploads) add(e api.ListEntry) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	list, err := u.load()
	if err != nil {
		return err
	}
	return u.save(append(list, e))
}

func (u *uploads) remove(cid string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	list, err := u.load()
	if err != nil {
		return err
	}
	out := list[:0]
	for _, e := range list {
		if e.CID != cid {
			out = append(out, e)
		}
	}
	return u.save(out)
}

func (u *uploads) list() ([]api.ListEntry, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	list, err := u.load()
	if list == nil {
		list = []api.ListEntry{}
	}
	return list, err
}
