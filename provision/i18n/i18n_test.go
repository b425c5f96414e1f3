package i18n

import (
	"errors"
	"testing"
)

func TestSprintfLocalizesArguments(t *testing.T) {
	cause := Errorf(M{FR: "disque absent", EN: "disk missing"})
	text := T(M{FR: "échec : %s (%s, %v)", EN: "failed: %s (%s, %v)"}, cause, T(M{FR: "cible", EN: "target"}), errors.New("plain"))
	// Twice each way: formatting must not change the Text's own arguments.
	for range 2 {
		if got := text.String(EN); got != "failed: disk missing (target, plain)" {
			t.Errorf("EN: %q", got)
		}
		if got := text.String(FR); got != "échec : disque absent (cible, plain)" {
			t.Errorf("FR: %q", got)
		}
	}
}
