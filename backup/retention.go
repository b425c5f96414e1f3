package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// ForgetGroup is one group of `restic forget --json`: the snapshots kept
// and removed.
type ForgetGroup struct {
	Host   string     `json:"host"`
	Tags   []string   `json:"tags"`
	Keep   []Snapshot `json:"keep"`
	Remove []Snapshot `json:"remove"`
}

// ForgetReport is what Forget did.
type ForgetReport struct {
	Groups []ForgetGroup
}

// Kept counts the snapshots kept.
func (r *ForgetReport) Kept() int {
	n := 0
	for _, g := range r.Groups {
		n += len(g.Keep)
	}
	return n
}

// Removed counts the snapshots removed.
func (r *ForgetReport) Removed() int {
	n := 0
	for _, g := range r.Groups {
		n += len(g.Remove)
	}
	return n
}

var msgForgetNoHost = i18n.M{
	FR: "oubli des anciennes sauvegardes refusé sans nom de box : il toucherait celles des autres box du dépôt",
	EN: "forgetting old backups refused without a box name: it would touch the other boxes' backups in the repository",
}

// Forget applies the retention policy keep to the box's snapshots in the
// repository and prunes the data no snapshot uses any more (restic forget
// --prune).
//
// Only snapshots of host carrying every tag of tags are considered: a
// repository may be shared by several boxes (a support association's
// server), and another box's snapshots are never touched; host must not be
// empty. They are grouped by host alone: grouping by tags would make a
// group per pack revision (the "revision:N" tag), each keeping its own
// daily snapshots forever, and grouping by paths would split the box's
// snapshots whenever a folder appears. A policy that keeps nothing is no
// policy: nothing is forgotten (the pack's validation refuses it anyway).
func (r *Repo) Forget(ctx context.Context, keep provision.Keep, host string, tags []string) (*ForgetReport, error) {
	if host == "" {
		return nil, i18n.Errorf(msgForgetNoHost)
	}
	report := &ForgetReport{}
	if keep.Daily <= 0 && keep.Weekly <= 0 && keep.Monthly <= 0 {
		return report, nil
	}
	args := []string{"forget", "--prune", "--host", host, "--group-by", "host"}
	if len(tags) > 0 {
		args = append(args, "--tag", strings.Join(tags, ","))
	}
	for _, k := range []struct {
		flag string
		n    int
	}{{"--keep-daily", keep.Daily}, {"--keep-weekly", keep.Weekly}, {"--keep-monthly", keep.Monthly}} {
		if k.n > 0 {
			args = append(args, k.flag, strconv.Itoa(k.n))
		}
	}
	// forget --json prints its groups as one JSON array, then prune's
	// messages: standard output is kept whole and the array found in it.
	var buf bytes.Buffer
	runner := r.Runner
	if runner == nil {
		runner = ExecRunner{}
	}
	capture := *r
	capture.Runner = captureRunner{Runner: runner, stdout: &buf}
	if err := capture.Run(ctx, "", args, nil); err != nil {
		return nil, err
	}
	for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '[' {
			continue
		}
		if err := json.Unmarshal(line, &report.Groups); err != nil {
			return nil, &Error{Command: "forget", Repository: r.Display(), Message: "restic: unreadable forget report: " + err.Error(), Err: err}
		}
		break
	}
	return report, nil
}

// CheckSubsetParts is how many parts the weekly check reads one of: over
// that many weeks every pack of the repository is read once.
const CheckSubsetParts = 8

// CheckSubset is the part of the repository's data the weekly check at t
// reads ("3/8"): one part of CheckSubsetParts, a different one each week
// of the year, so that the whole repository is read every
// CheckSubsetParts weeks while each check reads little (an sftp target on
// a slow line).
func CheckSubset(t time.Time) string {
	_, week := t.ISOWeek()
	return fmt.Sprintf("%d/%d", week%CheckSubsetParts+1, CheckSubsetParts)
}

// TargetJob is the outcome of a job (forget, check) on one target.
type TargetJob struct {
	Target string
	Err    error
	// Forget's report, or check's summary.
	Forget *ForgetReport
	Check  *CheckSummary
}

// ForgetTargets applies the pack's retention (backup.keep) to the box's
// snapshots on every target whose name is in targets (every target when
// targets is nil), under the box's backup lock: forget --prune takes
// restic's exclusive lock, which a backup of the box running meanwhile
// would fail on.
func ForgetTargets(ctx context.Context, o Options, p *provision.Pack, targets []string) ([]TargetJob, error) {
	return eachTarget(ctx, o, p, targets, func(ctx context.Context, r *Repo, j *TargetJob) {
		j.Forget, j.Err = r.Forget(ctx, p.Backup.Keep, boxHost(p), []string{TagRuche})
	})
}

// CheckTargets runs restic check on every target of the pack, reading the
// subset of the data readData says (CheckSubset; "" reads none), under
// the box's backup lock. A damaged repository is an *Error of kind
// ErrCheckFailed in its TargetJob.
func CheckTargets(ctx context.Context, o Options, p *provision.Pack, readData string) ([]TargetJob, error) {
	return eachTarget(ctx, o, p, nil, func(ctx context.Context, r *Repo, j *TargetJob) {
		j.Check, j.Err = r.Check(ctx, readData)
	})
}

// eachTarget runs job on the targets named (all when nil) in the pack's
// order, holding the backup lock.
func eachTarget(ctx context.Context, o Options, p *provision.Pack, names []string, job func(context.Context, *Repo, *TargetJob)) ([]TargetJob, error) {
	root, err := o.root()
	if err != nil {
		return nil, err
	}
	unlock, err := lockBackup(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []TargetJob
	for _, t := range p.Backup.Targets {
		if names != nil && !slices.Contains(names, t.Name) {
			continue
		}
		j := TargetJob{Target: t.Name}
		repo, err := o.OpenTarget(ctx, p, t)
		if err != nil {
			j.Err = err
		} else {
			job(ctx, repo, &j)
		}
		if j.Err != nil {
			o.log().Warn("backup job", "target", t.Name, "err", i18n.Localize(j.Err, i18n.EN))
		}
		out = append(out, j)
	}
	return out, nil
}

// JobsError joins the targets' failures, nil when there is none. It
// speaks both languages (i18n.Localize) and errors.Is finds each cause.
func JobsError(jobs []TargetJob) error {
	var failed jobErrors
	for _, j := range jobs {
		if j.Err != nil {
			failed = append(failed, j)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

type jobErrors []TargetJob

func (e jobErrors) Error() string { return e.Localize(i18n.FR) }

func (e jobErrors) Localize(lang i18n.Lang) string {
	parts := make([]string, len(e))
	for i, j := range e {
		parts[i] = j.Target + ": " + i18n.Localize(j.Err, lang)
	}
	return strings.Join(parts, "; ")
}

func (e jobErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, j := range e {
		out[i] = j.Err
	}
	return out
}

// boxHost is the snapshots' host for a pack, as Run names it.
func boxHost(p *provision.Pack) string {
	if p.Box.Hostname != "" {
		return p.Box.Hostname
	}
	h, _ := os.Hostname()
	return h
}
