package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The manifest lists every file Ruche wrote, so that apply removes what it
// created and no longer wants, and never touches anything else. It is
// written twice per apply that changes something: first the union of the old
// and new files (so that a crash in the middle leaves no file Ruche made
// unaccounted for), then, once the disk matches, exactly the new set.

const manifestVersion = 1

type manifest struct {
	Version int                      `json:"version"`
	Files   map[string]manifestEntry `json:"files"`
	// MoveAside is the last applied Desired.MoveAside: when a group leaves,
	// its folder is moved under RemovedDir.
	MoveAside map[string]string `json:"move_aside,omitempty"`
	// Trees maps each tree's link to the release it points to.
	Trees map[string]treeEntry `json:"trees,omitempty"`

	// raw is the file as read, so that Plan compares bytes without reading
	// it again.
	raw []byte
}

type treeEntry struct {
	Hash    string `json:"hash"`
	Group   string `json:"group,omitempty"`
	Service string `json:"service,omitempty"`
}

type manifestEntry struct {
	SHA256  string      `json:"sha256"`
	Mode    fs.FileMode `json:"mode"`
	Group   string      `json:"group,omitempty"`
	Service string      `json:"service,omitempty"`
}

func entryOf(f *File) manifestEntry {
	sum := sha256.Sum256(f.Content)
	return manifestEntry{SHA256: hex.EncodeToString(sum[:]), Mode: f.Mode, Group: f.Group, Service: f.Service}
}

func readManifest(root string) (*manifest, error) {
	m := &manifest{Version: manifestVersion, Files: map[string]manifestEntry{}, MoveAside: map[string]string{}, Trees: map[string]treeEntry{}}
	data, err := os.ReadFile(filepath.Join(root, ManifestPath))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestPath, err)
	}
	m.raw = data
	if m.Version > manifestVersion {
		return nil, fmt.Errorf("%s: version %d is newer than this ruche knows (%d)", ManifestPath, m.Version, manifestVersion)
	}
	if m.Files == nil {
		m.Files = map[string]manifestEntry{}
	}
	if m.MoveAside == nil {
		m.MoveAside = map[string]string{}
	}
	if m.Trees == nil {
		m.Trees = map[string]treeEntry{}
	}
	return m, nil
}

func (m *manifest) encode() []byte {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // plain maps and strings always marshal
	}
	return append(data, '\n')
}

func writeManifest(root string, m *manifest, step stepFunc) error {
	return writeAtomic(filepath.Join(root, ManifestPath), m.encode(), 0o600, -1, -1, step)
}
