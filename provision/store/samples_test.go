package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
)

// sampleRows lists the table as "kind/target@time=value", in order.
func sampleRows(t *testing.T, db *DB) []string {
	t.Helper()
	all, err := db.Samples(t.Context(), time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range all {
		out = append(out, fmt.Sprintf("%s/%s@%s=%d", s.Kind, s.Target, s.At.Format("2006-01-02T15:04"), s.Value))
	}
	return out
}

func TestRecordSamplesThins(t *testing.T) {
	// now is a Wednesday noon; the fine window starts 7 days before.
	now := time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02T15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	used := func(when string, v uint64) Sample {
		return Sample{Kind: SampleDiskUsed, Target: "/", At: at(when), Value: v}
	}
	type step struct {
		now     time.Time
		samples []Sample
	}
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{
			name: "one slot keeps its latest sample",
			steps: []step{
				{now, []Sample{used("2026-03-18T11:46", 1)}},
				{now, []Sample{used("2026-03-18T11:52", 2)}},
				{now, []Sample{used("2026-03-18T12:00", 3)}}, // the next slot
			},
			want: []string{"disk_used//@2026-03-18T11:52=2", "disk_used//@2026-03-18T12:00=3"},
		},
		{
			name: "an older sample in a slot changes nothing",
			steps: []step{
				{now, []Sample{used("2026-03-18T11:52", 2)}},
				{now, []Sample{used("2026-03-18T11:46", 1)}},
			},
			want: []string{"disk_used//@2026-03-18T11:52=2"},
		},
		{
			name: "the same sample again updates its value",
			steps: []step{
				{now, []Sample{used("2026-03-18T11:52", 2)}},
				{now, []Sample{used("2026-03-18T11:52", 5)}},
			},
			want: []string{"disk_used//@2026-03-18T11:52=5"},
		},
		{
			name: "past the week, one sample a day: the day's last",
			steps: []step{
				{now, []Sample{used("2026-03-09T08:00", 1), used("2026-03-09T16:00", 2), used("2026-03-09T23:50", 3)}},
				{now, []Sample{used("2026-03-10T01:00", 4), used("2026-03-10T02:00", 5)}},
				// Within the week: every slot stays.
				{now, []Sample{used("2026-03-12T01:00", 6), used("2026-03-12T02:00", 7)}},
			},
			want: []string{
				"disk_used//@2026-03-09T23:50=3",
				"disk_used//@2026-03-10T02:00=5",
				"disk_used//@2026-03-12T01:00=6",
				"disk_used//@2026-03-12T02:00=7",
			},
		},
		{
			name: "a day across the week's edge keeps its recent samples until the edge passes",
			steps: []step{
				// The edge is 2026-03-11T12:00.
				{now, []Sample{used("2026-03-11T06:00", 1), used("2026-03-11T10:00", 2), used("2026-03-11T13:00", 3), used("2026-03-11T20:00", 4)}},
			},
			want: []string{"disk_used//@2026-03-11T13:00=3", "disk_used//@2026-03-11T20:00=4"},
		},
		{
			name: "the edge moves with the clock",
			steps: []step{
				{now, []Sample{used("2026-03-11T13:00", 3), used("2026-03-11T20:00", 4)}},
				{now.Add(24 * time.Hour), nil},
			},
			want: []string{"disk_used//@2026-03-11T20:00=4"},
		},
		{
			name: "past two years, nothing",
			steps: []step{
				{now, []Sample{used("2024-03-17T08:00", 1), used("2024-03-19T08:00", 2)}},
			},
			want: []string{"disk_used//@2024-03-19T08:00=2"},
		},
		{
			name: "series are thinned apart",
			steps: []step{
				{now, []Sample{
					used("2026-03-18T11:46", 1),
					{Kind: SampleDiskUsed, Target: "/var/lib/ruche", At: at("2026-03-18T11:47"), Value: 2},
					{Kind: SampleDiskTotal, Target: "/", At: at("2026-03-18T11:48"), Value: 3},
					{Kind: SampleBackupAdded, Target: "usb", At: at("2026-03-01T02:31"), Value: 4},
					{Kind: SampleBackupAdded, Target: "support", At: at("2026-03-01T02:40"), Value: 5},
					{Kind: SampleBackupStored, Target: "usb", At: at("2026-03-01T02:31"), Value: 6},
				}},
			},
			want: []string{
				"backup_added/support@2026-03-01T02:40=5",
				"backup_added/usb@2026-03-01T02:31=4",
				"backup_stored/usb@2026-03-01T02:31=6",
				"disk_total//@2026-03-18T11:48=3",
				"disk_used//@2026-03-18T11:46=1",
				"disk_used//var/lib/ruche@2026-03-18T11:47=2",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t)
			for i, st := range tt.steps {
				if err := db.RecordSamples(t.Context(), st.now, st.samples); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if got := sampleRows(t, db); !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// A sampler that runs every 15 minutes for 10 days leaves 7 days of slots
// and one sample for each older day; the table does not grow past that.
func TestRecordSamplesBounded(t *testing.T) {
	db := openTest(t)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(10 * 24 * time.Hour)
	n := 0
	for now := start; now.Before(end) && n < 2000; now = now.Add(SampleSlot) {
		n++
		s := []Sample{{Kind: SampleDiskUsed, Target: "/", At: now, Value: uint64(n)}}
		if err := db.RecordSamples(t.Context(), now, s); err != nil {
			t.Fatal(err)
		}
	}
	last := end.Add(-SampleSlot)
	edge := last.Add(-SampleFineFor) // 2026-03-03T23:45
	all, err := db.Samples(t.Context(), time.Time{}, end)
	if err != nil {
		t.Fatal(err)
	}
	var fine, daily int
	days := map[string]int{}
	for _, s := range all {
		if s.At.Before(edge) {
			daily++
			days[s.At.Format(time.DateOnly)]++
			if s.At.Hour() != 23 || s.At.Minute() != 45 {
				t.Errorf("kept %v past the week, want the day's last slot (23:45)", s.At)
			}
		} else {
			fine++
		}
	}
	// Fine: every slot from the edge to the last, both included.
	if want := int(SampleFineFor/SampleSlot) + 1; fine != want {
		t.Errorf("%d samples within the week, want %d", fine, want)
	}
	// 1, 2 and 3 March: one each (3 March's last slot is the edge itself).
	if daily != 2 || days["2026-03-01"] != 1 || days["2026-03-02"] != 1 {
		t.Errorf("past the week: %d samples, by day %v; want one for 1 and 2 March", daily, days)
	}
}

func TestRecordSamplesRefusesBadInput(t *testing.T) {
	db := openTest(t)
	now := time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)
	good := Sample{Kind: SampleDiskUsed, Target: "/", At: now, Value: 1}
	for _, tt := range []struct {
		bad  Sample
		want string
	}{
		{Sample{Kind: "disk_free", Target: "/", At: now}, `sample 1: unknown kind "disk_free"`},
		{Sample{Kind: SampleDiskUsed, Target: "/"}, "sample 1: at"},
		{Sample{Kind: SampleDiskUsed, At: now, Value: 1 << 63}, "sample 1: value"},
	} {
		err := db.RecordSamples(t.Context(), now, []Sample{good, tt.bad})
		if err == nil || !strings.Contains(i18n.Localize(err, i18n.EN), tt.want) {
			t.Errorf("RecordSamples(%+v): %v, want an error with %q", tt.bad, err, tt.want)
		}
	}
	// The good sample of each call was not written either.
	if got := sampleRows(t, db); len(got) != 0 {
		t.Errorf("refused calls wrote %v", got)
	}
}
