package provision

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
)

// Revision is one applied pack, kept under RevisionsDir as NNNNNN.yaml (the
// pack, byte for byte) and NNNNNN.json (this metadata). The .json is written
// last: a revision without one is an apply that crashed half-way and is
// written again by the next apply.
type Revision struct {
	Number int       `json:"number"`
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Note   string    `json:"note,omitempty"`
	SHA256 string    `json:"sha256"`
}

var msgNoRevision = i18n.M{
	FR: "la révision %d n'existe pas",
	EN: "revision %d does not exist",
}

func revisionPaths(root string, n int) (pack, meta string) {
	base := filepath.Join(root, RevisionsDir, fmt.Sprintf("%06d", n))
	return base + ".yaml", base + ".json"
}

// ListRevisions returns every complete revision, oldest first.
func ListRevisions(root string) ([]Revision, error) {
	entries, err := os.ReadDir(filepath.Join(root, RevisionsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var revs []Revision
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(name, ".json"))
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, RevisionsDir, name))
		if err != nil {
			return nil, err
		}
		var r Revision
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("%s/%s: %w", RevisionsDir, name, err)
		}
		r.Number = n
		revs = append(revs, r)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Number < revs[j].Number })
	return revs, nil
}

// ReadRevision returns the pack of revision n and its metadata.
func ReadRevision(root string, n int) ([]byte, Revision, error) {
	packPath, metaPath := revisionPaths(root, n)
	meta, err := os.ReadFile(metaPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Revision{}, i18n.Errorf(msgNoRevision, n)
	}
	if err != nil {
		return nil, Revision{}, err
	}
	var r Revision
	if err := json.Unmarshal(meta, &r); err != nil {
		return nil, Revision{}, err
	}
	data, err := os.ReadFile(packPath)
	if err != nil {
		return nil, Revision{}, err
	}
	return data, r, nil
}

// latestRevision returns the newest complete revision and its pack, or
// ok=false when there is none yet.
func latestRevision(root string) (rev Revision, pack []byte, ok bool, err error) {
	revs, err := ListRevisions(root)
	if err != nil || len(revs) == 0 {
		return Revision{}, nil, false, err
	}
	rev = revs[len(revs)-1]
	pack, _, err = ReadRevision(root, rev.Number)
	return rev, pack, err == nil, err
}

// needsRevision reports whether raw differs from the newest revision.
func needsRevision(root string, raw []byte) (next int, needed bool, err error) {
	rev, pack, ok, err := latestRevision(root)
	if err != nil {
		return 0, false, err
	}
	if ok && bytes.Equal(pack, raw) {
		return rev.Number, false, nil
	}
	return rev.Number + 1, true, nil
}

func writeRevision(root string, r Revision, raw []byte, step stepFunc) error {
	sum := sha256.Sum256(raw)
	r.SHA256 = hex.EncodeToString(sum[:])
	packPath, metaPath := revisionPaths(root, r.Number)
	if err := step("revision:" + packPath); err != nil {
		return err
	}
	if err := writeAtomic(packPath, raw, 0o600, -1, -1, step); err != nil {
		return err
	}
	meta, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(metaPath, append(meta, '\n'), 0o600, -1, -1, step)
}
