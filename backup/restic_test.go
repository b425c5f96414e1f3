package backup

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
)

// reply is what a fake restic prints and returns.
type reply struct {
	stdout, stderr string
	code           int
}

// fakeRunner plays replies in order and records the commands it got.
type fakeRunner struct {
	replies []reply
	calls   []Command
}

func (f *fakeRunner) Run(_ context.Context, c Command, stdout, stderr io.Writer) (int, error) {
	f.calls = append(f.calls, c)
	if len(f.replies) == 0 {
		return ExitFatal, errors.New("fake restic: no reply left")
	}
	r := f.replies[0]
	f.replies = f.replies[1:]
	io.WriteString(stdout, r.stdout)
	io.WriteString(stderr, r.stderr)
	return r.code, nil
}

// subcommand is restic's command in c (after the global flags).
func subcommand(c Command) string {
	for i := 0; i < len(c.Args); i++ {
		switch a := c.Args[i]; a {
		case "--json":
		case "--password-file", "--cache-dir", "-o":
			i++
		default:
			return a
		}
	}
	return ""
}

func testRepo(f *fakeRunner) *Repo {
	return &Repo{Binary: "/x/restic", Location: "/repo", PasswordFile: "/s/restic", CacheDir: "/c", Runner: f}
}

func TestCommandLineAndEnvironment(t *testing.T) {
	t.Setenv("RESTIC_PASSWORD", "leaked")
	t.Setenv("RESTIC_REPOSITORY", "/elsewhere")
	f := &fakeRunner{replies: []reply{{stdout: `{"message_type":"initialized","id":"x"}` + "\n"}}}
	r := testRepo(f)
	r.Options = []string{"sftp.command=ssh -p 22 host -s sftp"}
	if err := r.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := f.calls[0]
	want := []string{"--json", "--password-file", "/s/restic", "--cache-dir", "/c", "-o", "sftp.command=ssh -p 22 host -s sftp", "init"}
	if c.Path != "/x/restic" || !slices.Equal(c.Args, want) {
		t.Errorf("got %s %q, want /x/restic %q", c.Path, c.Args, want)
	}
	for _, e := range []string{"LC_ALL=C", "RESTIC_REPOSITORY=/repo", "HOME=/c"} {
		if !slices.Contains(c.Env, e) {
			t.Errorf("environment lacks %s: %q", e, c.Env)
		}
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e, "RESTIC_PASSWORD") || e == "RESTIC_REPOSITORY=/elsewhere" {
			t.Errorf("the caller's %s reached restic", e)
		}
	}
}

func TestBackupParsesStatusSummaryAndErrors(t *testing.T) {
	out := `{"message_type":"status","percent_done":0,"total_files":10,"files_done":0,"total_bytes":2000,"bytes_done":0}
not json at all
{"message_type":"status","seconds_elapsed":3,"seconds_remaining":9,"percent_done":0.25,"total_files":10,"files_done":2,"total_bytes":2000,"bytes_done":500,"current_files":["/var/lib/ruche/wiki/pages/a.txt"]}
{"message_type":"summary","files_new":10,"files_changed":0,"files_unmodified":0,"dirs_new":3,"data_added":2100,"data_added_packed":900,"total_files_processed":10,"total_bytes_processed":2000,"total_duration":1.5,"snapshot_id":"0123456789abcdef"}
`
	f := &fakeRunner{replies: []reply{{stdout: out}}}
	var got []Progress
	sum, err := testRepo(f).Backup(context.Background(), BackupOptions{
		Dir: "/root", Paths: []string{"etc/ruche/pack.yaml", "var/lib/ruche"},
		Excludes: []string{"/root/var/lib/ruche/ruche.db"}, Host: "box", Tags: []string{"ruche", "revision:3"},
	}, func(p Progress) { got = append(got, p) })
	if err != nil {
		t.Fatal(err)
	}
	if sum.SnapshotID != "0123456789abcdef" || sum.FilesNew != 10 || sum.DataAdded != 2100 || sum.DataAddedPacked != 900 {
		t.Errorf("summary %+v", sum)
	}
	if len(got) != 2 {
		t.Fatalf("got %d progress values, want 2", len(got))
	}
	p := got[1]
	if p.Percent != 25 || p.FilesDone != 2 || p.FilesTotal != 10 || p.BytesDone != 500 || p.BytesTotal != 2000 ||
		p.ETA != 9*time.Second || p.Elapsed != 3*time.Second || len(p.CurrentFiles) != 1 {
		t.Errorf("progress %+v", p)
	}
	if j, err := json.Marshal(p); err != nil || !strings.Contains(string(j), `"percent":25,`) || !strings.Contains(string(j), `"eta_seconds":9`) {
		t.Errorf("progress in JSON: %s, %v", j, err)
	}
	c := f.calls[0]
	if c.Dir != "/root" {
		t.Errorf("restic ran in %q, want the root", c.Dir)
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"backup --host box --tag ruche --tag revision:3 --exclude /root/var/lib/ruche/ruche.db -- etc/ruche/pack.yaml var/lib/ruche"} {
		if !strings.Contains(args, want) {
			t.Errorf("arguments %q lack %q", args, want)
		}
	}
}

func TestBackupPartial(t *testing.T) {
	out := `{"message_type":"error","error":{"message":"open /root/var/lib/ruche/wiki/pages/x.txt: permission denied"},"during":"archival","item":"/root/var/lib/ruche/wiki/pages/x.txt"}
{"message_type":"summary","files_new":1,"snapshot_id":"feedbeef00"}
`
	f := &fakeRunner{replies: []reply{{stdout: out, stderr: `{"message_type":"exit_error","code":3,"message":"Warning: at least one source file could not be read"}` + "\n", code: ExitPartial}}}
	sum, err := testRepo(f).Backup(context.Background(), BackupOptions{Paths: []string{"x"}}, nil)
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("got %v, want ErrPartial", err)
	}
	if sum == nil || sum.SnapshotID != "feedbeef00" {
		t.Errorf("the summary of a partial backup is lost: %+v", sum)
	}
	var e *Error
	errors.As(err, &e)
	if len(e.Files) != 1 || e.Files[0].Path != "/root/var/lib/ruche/wiki/pages/x.txt" {
		t.Errorf("files %+v", e.Files)
	}
	if msg := e.Localize(i18n.EN); !strings.Contains(msg, "1 file(s) could not be read") || !strings.Contains(msg, "x.txt") {
		t.Errorf("message %q", msg)
	}
}

func TestStaleLockIsRemovedOnce(t *testing.T) {
	locked := reply{stderr: `{"message_type":"exit_error","code":11,"message":"unable to create lock in backend: repository is already locked by PID 4242 on box by root"}` + "\n", code: ExitLockFailed}
	summary := reply{stdout: `{"message_type":"summary","snapshot_id":"abc"}` + "\n"}

	f := &fakeRunner{replies: []reply{locked, {stdout: "successfully removed 1 locks\n"}, summary}}
	if _, err := testRepo(f).Backup(context.Background(), BackupOptions{Paths: []string{"x"}}, nil); err != nil {
		t.Fatalf("a stale lock was not handled: %v", err)
	}
	var seq []string
	for _, c := range f.calls {
		seq = append(seq, subcommand(c))
	}
	if want := []string{"backup", "unlock", "backup"}; !slices.Equal(seq, want) {
		t.Errorf("got commands %q, want %q", seq, want)
	}

	// A lock held by a live command stays: one unlock, one retry, then
	// the error says the repository is locked.
	f = &fakeRunner{replies: []reply{locked, {}, locked}}
	_, err := testRepo(f).Backup(context.Background(), BackupOptions{Paths: []string{"x"}}, nil)
	if !errors.Is(err, ErrLocked) || len(f.calls) != 3 {
		t.Fatalf("got %v after %d commands, want ErrLocked after 3", err, len(f.calls))
	}
	for _, lang := range []i18n.Lang{i18n.FR, i18n.EN} {
		if msg := i18n.Localize(err, lang); !strings.Contains(msg, "PID 4242") {
			t.Errorf("%s: %q does not say who holds the lock", lang, msg)
		}
	}
}

func TestSnapshots(t *testing.T) {
	out := `[{"time":"2026-06-21T02:30:00Z","hostname":"cafe","tags":["ruche","revision:7"],"paths":["/etc/ruche/pack.yaml"],"id":"aaaa1111","short_id":"aaaa1111","summary":{"total_files_processed":12}}]` + "\n"
	f := &fakeRunner{replies: []reply{{stdout: out}}}
	snaps, err := testRepo(f).Snapshots(context.Background(), SnapshotFilter{Host: "cafe", Tags: []string{"ruche"}, Latest: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || snaps[0].Hostname != "cafe" || snaps[0].Revision() != 7 || snaps[0].Summary.TotalFilesProcessed != 12 {
		t.Errorf("snapshots %+v", snaps)
	}
	if args := strings.Join(f.calls[0].Args, " "); !strings.HasSuffix(args, "snapshots --host cafe --tag ruche --latest 2") {
		t.Errorf("arguments %q", args)
	}
}

func TestCheck(t *testing.T) {
	f := &fakeRunner{replies: []reply{{stdout: `{"message_type":"summary","num_errors":0,"suggest_prune":true}` + "\n"}}}
	sum, err := testRepo(f).Check(context.Background(), "5%")
	if err != nil || sum == nil || !sum.SuggestPrune {
		t.Fatalf("got %+v, %v", sum, err)
	}
	if args := strings.Join(f.calls[0].Args, " "); !strings.HasSuffix(args, "check --read-data-subset 5%") {
		t.Errorf("arguments %q", args)
	}
	f = &fakeRunner{replies: []reply{{
		stdout: `{"message_type":"error","error":{"message":"pack 1234: not referenced in any index"}}` + "\n" + `{"message_type":"summary","num_errors":1}` + "\n",
		stderr: `{"message_type":"exit_error","code":1,"message":"Fatal: repository contains errors"}` + "\n",
		code:   ExitFatal,
	}}}
	_, err = testRepo(f).Check(context.Background(), "")
	if !errors.Is(err, ErrCheckFailed) || !strings.Contains(err.Error(), "pack 1234") {
		t.Errorf("got %v, want ErrCheckFailed naming the problem", err)
	}
}

func TestNoBinary(t *testing.T) {
	r := &Repo{Binary: "/nonexistent/restic", Location: "/repo"}
	err := r.Init(context.Background())
	if !errors.Is(err, ErrNoBinary) || !strings.Contains(i18n.Localize(err, i18n.EN), "RUCHE_RESTIC") {
		t.Errorf("got %v, want ErrNoBinary telling how to give restic", err)
	}
}

func TestClassify(t *testing.T) {
	exit := func(code int, msg string) string {
		return `{"message_type":"exit_error","code":` + strconv.Itoa(code) + `,"message":"` + msg + `"}` + "\n"
	}
	cases := []struct {
		name   string
		code   int
		stderr string
		want   error
	}{
		{"wrong password", 12, exit(12, "Fatal: wrong password or no key found"), ErrWrongPassword},
		{"repository missing", 10, exit(10, "Fatal: repository does not exist: unable to open config file"), ErrRepoMissing},
		{"locked", 11, exit(11, "unable to create lock in backend"), ErrLocked},
		{"partial", 3, "", ErrPartial},
		{"interrupted", 130, "", ErrInterrupted},
		{"host key changed", 1, "subprocess ssh: @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nsubprocess ssh: Host key verification failed.\n" +
			exit(1, "Fatal: unable to open repository at sftp:x: unable to start the sftp session"), ErrHostKey},
		{"key refused", 1, "subprocess ssh: root@127.0.0.1: Permission denied (publickey).\n" + exit(1, "Fatal: unable to start the sftp session"), ErrAuth},
		{"ssh refused", 1, "subprocess /usr/bin/ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused\n" + exit(1, "Fatal: unable to start the sftp session"), ErrUnreachable},
		{"rest refused", 1, exit(1, "Fatal: unable to open repository: Head \\\"http://127.0.0.1:1/x/config\\\": dial tcp 127.0.0.1:1: connect: connection refused"), ErrUnreachable},
		// restic 0.14: code 1 for all of these, words only.
		{"0.14 wrong password", 1, "Fatal: wrong password or no key found\n", ErrWrongPassword},
		{"0.14 repository missing", 1, "Fatal: unable to open config file: stat /r/config: no such file or directory\nIs there a repository at the following location?\n/r\n", ErrRepoMissing},
		{"0.14 locked", 1, "unable to create lock in backend: repository is already locked by PID 1 on box by root\n", ErrLocked},
		{"unknown code", 42, "something new\n", nil},
		{"plain failure", 1, exit(1, "Fatal: no space left on device"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := classify("backup", "/repo", c.code, c.stderr, nil)
			if e.Kind != c.want || e.Code != c.code {
				t.Errorf("got kind %v code %d, want %v %d", e.Kind, e.Code, c.want, c.code)
			}
			for _, lang := range []i18n.Lang{i18n.FR, i18n.EN} {
				msg := e.Localize(lang)
				if msg == "" || strings.Contains(msg, "%!") {
					t.Errorf("%s: bad message %q", lang, msg)
				}
			}
			if c.want == nil && !strings.Contains(e.Localize(i18n.EN), "failed on /repo (code") {
				t.Errorf("message %q does not name the repository and code", e.Localize(i18n.EN))
			}
			if c.name == "host key changed" && e.Message != "ssh: Host key verification failed." {
				t.Errorf("message %q: want ssh's last words", e.Message)
			}
			if c.want == ErrUnreachable && !strings.Contains(strings.ToLower(e.Message), "connection refused") {
				t.Errorf("message %q lost the cause", e.Message)
			}
		})
	}
}

func TestMessagesInBothLanguages(t *testing.T) {
	for _, kind := range []error{ErrWrongPassword, ErrRepoMissing, ErrLocked, ErrUnreachable, ErrHostKey, ErrAuth,
		ErrDiskMissing, ErrPartial, ErrNoBinary, ErrInterrupted, ErrCheckFailed, ErrConfig, ErrBusy, nil} {
		e := &Error{Kind: kind, Command: "backup", Repository: "/media/usb/restic", Code: 1, Message: "detail", Err: errors.New("cause")}
		fr, en := e.Localize(i18n.FR), e.Localize(i18n.EN)
		if fr == en || fr == "" || en == "" || strings.Contains(fr+en, "%!") {
			t.Errorf("%v: fr %q, en %q", kind, fr, en)
		}
		if kind != nil && !errors.Is(e, kind) {
			t.Errorf("errors.Is(%v) is false", kind)
		}
	}
}

func TestProgressFile(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var seen []Progress
	write, done := progressWriter(root, func() time.Time { return now }, func(p Progress) { seen = append(seen, p) })
	write(Progress{Target: "usb", Percent: 42, FilesDone: 10, FilesTotal: 20, ETA: 90 * time.Second})
	write(Progress{Target: "usb", Percent: 43}) // within the second: passed on, not written
	if len(seen) != 2 {
		t.Errorf("the terminal's callback got %d updates, want 2", len(seen))
	}
	r, ok := ReadProgress(root, now.Add(time.Second))
	if !ok || r.Target != "usb" || r.Percent != 42 || r.FilesTotal != 20 || r.ETASeconds != 90 {
		t.Fatalf("ReadProgress: %+v, %v", r, ok)
	}
	// A file left by a killed backup is not a running backup.
	if _, ok := ReadProgress(root, now.Add(time.Minute)); ok {
		t.Error("a stale progress file reads as a running backup")
	}
	done()
	if _, ok := ReadProgress(root, now); ok {
		t.Error("the progress file outlives the backup")
	}
}
