package backup

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Progress is where a backup stands, from restic's status messages: what a
// terminal prints and the panel shows. In JSON, Elapsed and ETA are
// elapsed_seconds and eta_seconds.
type Progress struct {
	Target       string        `json:"target,omitempty"`
	Percent      float64       `json:"percent"` // 0 to 100
	FilesDone    uint64        `json:"files_done"`
	FilesTotal   uint64        `json:"files_total"` // grows while restic scans
	BytesDone    uint64        `json:"bytes_done"`
	BytesTotal   uint64        `json:"bytes_total"`
	Errors       uint64        `json:"errors,omitempty"` // files that could not be read so far
	Elapsed      time.Duration `json:"-"`
	ETA          time.Duration `json:"-"`                 // time left; 0 when restic cannot tell yet
	CurrentFiles []string      `json:"current,omitempty"` // being read now
}

// MarshalJSON writes the durations in seconds.
func (p Progress) MarshalJSON() ([]byte, error) {
	type fields Progress // without this method
	return json.Marshal(struct {
		fields
		Elapsed float64 `json:"elapsed_seconds"`
		ETA     float64 `json:"eta_seconds"`
	}{fields(p), p.Elapsed.Seconds(), p.ETA.Seconds()})
}

// statusMessage is restic's message_type "status" of backup.
type statusMessage struct {
	SecondsElapsed   float64  `json:"seconds_elapsed"`
	SecondsRemaining float64  `json:"seconds_remaining"`
	PercentDone      float64  `json:"percent_done"` // 0 to 1
	TotalFiles       uint64   `json:"total_files"`
	FilesDone        uint64   `json:"files_done"`
	TotalBytes       uint64   `json:"total_bytes"`
	BytesDone        uint64   `json:"bytes_done"`
	ErrorCount       uint64   `json:"error_count"`
	CurrentFiles     []string `json:"current_files"`
}

func (s statusMessage) progress() Progress {
	pct := s.PercentDone * 100
	if math.IsNaN(pct) || pct < 0 {
		pct = 0
	}
	if pct > 100 {
		pct = 100
	}
	return Progress{
		Percent:      pct,
		FilesDone:    s.FilesDone,
		FilesTotal:   s.TotalFiles,
		BytesDone:    s.BytesDone,
		BytesTotal:   s.TotalBytes,
		Errors:       s.ErrorCount,
		Elapsed:      seconds(s.SecondsElapsed),
		ETA:          seconds(s.SecondsRemaining),
		CurrentFiles: s.CurrentFiles,
	}
}

func seconds(s float64) time.Duration {
	if s <= 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// Summary is restic's message_type "summary" of backup.
type Summary struct {
	FilesNew            uint64    `json:"files_new"`
	FilesChanged        uint64    `json:"files_changed"`
	FilesUnmodified     uint64    `json:"files_unmodified"`
	DirsNew             uint64    `json:"dirs_new"`
	DirsChanged         uint64    `json:"dirs_changed"`
	DirsUnmodified      uint64    `json:"dirs_unmodified"`
	DataBlobs           int64     `json:"data_blobs"`
	TreeBlobs           int64     `json:"tree_blobs"`
	DataAdded           uint64    `json:"data_added"`        // bytes added, before compression
	DataAddedPacked     uint64    `json:"data_added_packed"` // bytes added to the repository
	TotalFilesProcessed uint64    `json:"total_files_processed"`
	TotalBytesProcessed uint64    `json:"total_bytes_processed"`
	TotalDuration       float64   `json:"total_duration"` // seconds
	BackupStart         time.Time `json:"backup_start"`
	BackupEnd           time.Time `json:"backup_end"`
	SnapshotID          string    `json:"snapshot_id"`
}

// errorMessage is restic's message_type "error": a file it could not read
// (backup) or a problem found (check).
type errorMessage struct {
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
	During string `json:"during"`
	Item   string `json:"item"`
}

// exitErrorMessage is restic's message_type "exit_error", the last line
// on standard error of a failed command (0.17 and later).
type exitErrorMessage struct {
	Type    string `json:"message_type"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// FileError is a file a backup could not read.
type FileError struct {
	Path    string `json:"path"`
	During  string `json:"during,omitempty"`
	Message string `json:"message"`
}

// Snapshot is one snapshot as `restic snapshots --json` lists it.
type Snapshot struct {
	ID       string           `json:"id"`
	ShortID  string           `json:"short_id"`
	Time     time.Time        `json:"time"`
	Hostname string           `json:"hostname"`
	Tags     []string         `json:"tags,omitempty"`
	Paths    []string         `json:"paths"`
	Summary  *SnapshotSummary `json:"summary,omitempty"` // restic 0.17 and later
}

// SnapshotSummary is what restic records in a snapshot about its backup.
type SnapshotSummary struct {
	FilesNew            uint64 `json:"files_new"`
	FilesChanged        uint64 `json:"files_changed"`
	DataAdded           uint64 `json:"data_added"`
	DataAddedPacked     uint64 `json:"data_added_packed"`
	TotalFilesProcessed uint64 `json:"total_files_processed"`
	TotalBytesProcessed uint64 `json:"total_bytes_processed"`
}

// Tags Ruche puts on its snapshots.
const (
	// TagRuche marks a snapshot made by Ruche.
	TagRuche = "ruche"
	// TagRevisionPrefix is followed by the number of the pack revision
	// the box ran ("revision:12"); 0 when none was recorded.
	TagRevisionPrefix = "revision:"
)

// Revision is the pack revision the snapshot was taken at, from its tag;
// -1 when it has none.
func (s *Snapshot) Revision() int {
	for _, t := range s.Tags {
		if v, ok := strings.CutPrefix(t, TagRevisionPrefix); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return -1
}

// CheckSummary is restic's message_type "summary" of check.
type CheckSummary struct {
	NumErrors          int      `json:"num_errors"`
	BrokenPacks        []string `json:"broken_packs"`
	SuggestRepairIndex bool     `json:"suggest_repair_index"`
	SuggestPrune       bool     `json:"suggest_prune"`
}

// parseExitError finds restic's exit_error line in its standard error.
func parseExitError(stderr string) (exitErrorMessage, bool) {
	var found exitErrorMessage
	ok := false
	scanLines(stderr, func(line string) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			return
		}
		var m exitErrorMessage
		if json.Unmarshal([]byte(line), &m) == nil && m.Type == "exit_error" {
			found, ok = m, true
		}
	})
	return found, ok
}
