package calendar

import (
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr, want string
	}{
		{"", "empty expression"},
		{" UTC", "missing date or time before the timezone"},
		{"a\x00b", "expression contains a NUL byte"},

		// Weekdays and keywords.
		{"Mox", `unknown weekday "Mox"`},
		{"Mox 10:00", `unknown weekday "Mox"`},
		{"Mondays", `unknown weekday "Mondays"`},
		{"dayly", `unknown keyword or weekday "dayly"`},
		{"daily 12:00", `"daily" cannot be combined with a date or time`},
		{"Fri..Mon", "weekday range Fri..Mon is backwards"},
		{"Mon.Fri", `weekday ranges are written with "..", as in Mon..Fri`},
		{"Mon..Wed..Fri", `weekday range "Mon..Wed" cannot be extended; separate ranges with ","`},
		{"Mon..", `weekday range "Mon.." has no end`},
		{"Mon,*-*-*", `expected a weekday after "Mon,"`},
		{"Mon Tue", `weekday "Tue" must be joined to the other weekdays with ","`},
		{"12:00 Mon", `weekdays come first, as in "Mon *-*-* 12:00"`},

		// Values out of range.
		{"*-*-* 25:00", "hour 25 is out of range (0..23)"},
		{"*-13-01", "month 13 is out of range (1..12)"},
		{"*-*-32", "day 32 is out of range (1..31)"},
		{"*-*-* 12:60", "minute 60 is out of range (0..59)"},
		{"*-*-* 12:00:75.5", "second 75.5 is out of range (0..59)"},
		{"*:*:99999", "second 99999 is out of range (0..59)"},
		{"1969-01-01", "year 1969 is out of range (1970..2199)"},
		{"2200-01-01", "year 2200 is out of range (1970..2199)"},
		{"99999999999-01-01", "number 99999999999 is too large"},
		{"*-*~29", "day ~29 is out of range (~1..~28)"},
		{"*-*~24,26", `day ~26 is out of range: systemd allows ~1..~25 for value 2 of a "~" list`},
		{"@-5", "time @-5 is before 1970"},
		{"@99999999999", "time @99999999999 is after 2199"},

		// Ranges and repetitions.
		{"10..5:00", "hour range 10..5 is backwards"},
		{"20/5:00", "hour 20/5 would never repeat: 25 is past 23"},
		{"*-*-* 0/24:00", "hour repetition /24 is too large"},
		{"*-*~1/2", "day ~1/2 would never repeat: it counts towards the last day, ~1"},
		{"0/0:00", `repetition in "0/0" must not be zero`},
		{"*:*:10..10", `second range "10..10" spans less than one second; add a repetition such as /0.5`},
		{"*:*:10..5", `second range "10..5" is backwards`},
		{"*/2", `"*/N" is not supported; write "0/N" (or "1/N" for months and days)`},

		// Shape.
		{"5", `missing minutes after "5" (use HH:MM)`},
		{"5 12:00", `incomplete date "5" (use YYYY-MM-DD or MM-DD)`},
		{"01-01:00", `missing space between date and time in "01-01:00"`},
		{"2024-01-01-01", `date "2024-01-01-01" has too many parts`},
		{"*~02~03", `"~" must come right before the day, as in *-02~03`},
		{"2024/01/01", `unexpected "/" in "2024/01/01"`},
		{"12:00:00:00", `unexpected ":" in "12:00:00:00"`},
		{"*-*-* 12:00:00.", `expected digits after the decimal point in "00."`},
		{"*-*-* 12:00 ", "unexpected space at the end"},
		{"@", `expected seconds since 1970 after "@"`},
		{"*-*-* 02:30 Europe/Nowhere", `unknown timezone "Europe/Nowhere"`},
		{"*-*-* Foo/Bar", `unknown timezone "Foo/Bar"`},
		{"*-*-* 12:00 Local", `unknown timezone "Local"`},
		{"*-*-* 1é:00", `unexpected "é" in "1é:00"`},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want error %q", tt.expr, s, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) error:\n got  %s\n want %s", tt.expr, err, tt.want)
		}
	}
}

func TestTooManyValues(t *testing.T) {
	values := strings.Repeat("1,", 240)
	if _, err := Parse("*-*-" + values + "1"); err != nil {
		t.Errorf("241 values: %v", err)
	}
	want := "too many values in one list (at most 241)"
	if _, err := Parse("*-*-" + values + "1,1"); err == nil || err.Error() != want {
		t.Errorf("242 values: got %v, want %s", err, want)
	}
}

func TestNext(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, expr string
		from, want time.Time
	}{
		{"in t's location", "*-*-* 02:30", at(paris, "2024-06-01 12:00:00"), at(paris, "2024-06-02 02:30:00")},
		{"named timezone", "*-*-* 02:30 Asia/Tokyo", at(paris, "2024-06-01 12:00:00"), at(tokyo, "2024-06-02 02:30:00")},
		{"UTC", "*-*-* 02:30 UTC", at(paris, "2024-06-01 12:00:00"), at(time.UTC, "2024-06-02 02:30:00")},
		{"strictly after", "*-*-* 02:30", at(time.UTC, "2024-06-01 02:30:00"), at(time.UTC, "2024-06-02 02:30:00")},
		{"sub-second", "*:*:0/0.25", at(time.UTC, "2024-06-01 02:30:00.3"), at(time.UTC, "2024-06-01 02:30:00.5")},
		{"nanoseconds", "*:*:0/0.25", at(time.UTC, "2024-06-01 02:30:00.249999999"), at(time.UTC, "2024-06-01 02:30:00.25")},
		{"before 1970", "*-01-01 00:00:01", at(time.UTC, "1960-06-01 00:00:00"), at(time.UTC, "1970-01-01 00:00:01")},
		{"last day of February", "*-02~01", at(time.UTC, "2023-03-01 00:00:00"), at(time.UTC, "2024-02-29 00:00:00")},
		{"never again", "2020-01-01", at(time.UTC, "2024-06-01 00:00:00"), time.Time{}},
		{"never", "*-02-30", at(time.UTC, "2024-06-01 00:00:00"), time.Time{}},
		{"after 2199", "daily", at(time.UTC, "2200-01-01 00:00:00"), time.Time{}},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := s.Next(tt.from)
		if !got.Equal(tt.want) {
			t.Errorf("%s: %q.Next(%s) = %s, want %s", tt.name, tt.expr, tt.from, got, tt.want)
		}
		if !got.IsZero() && got.Location() != tt.from.Location() {
			t.Errorf("%s: Next returned a time in %s, want %s", tt.name, got.Location(), tt.from.Location())
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"*-*-* 02:30", "Mon..Fri 09:00", "Mon *-05~07/1", "*-02~03", "quarterly", "*:*:00/0.5",
		"2024..2030/2-06-15 08:00", "*-*-* 10:30:15.123456789 Europe/Paris", "@1750000000", "Mon,", "*~*",
		"Mox", "*/2", "*-*~24,26",
	} {
		f.Add(seed)
	}
	base := time.Date(2024, time.February, 27, 10, 20, 30, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("Parse(%q): empty error message", expr)
			}
			return
		}
		norm := s.String()
		again, err := Parse(norm)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", expr, norm, err)
		}
		if got := again.String(); got != norm {
			t.Fatalf("Parse(%q) = %q, which parses to %q", expr, norm, got)
		}
		if next := s.Next(base); !next.IsZero() && !next.After(base) {
			t.Fatalf("%q.Next(%s) = %s, not after", expr, base, next)
		}
	})
}
