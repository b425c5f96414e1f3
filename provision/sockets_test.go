package provision

import (
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision/i18n"
)

func TestCheckSockets(t *testing.T) {
	// A root of n bytes puts "run/ruche/control.sock" (22 bytes) at n+23.
	rootOf := func(n int) string { return "/" + strings.Repeat("r", n-1) }
	wiki := &Pack{Wiki: Wiki{Enabled: true}}
	if got := Sockets(wiki); len(got) != 2 || got[0] != ControlSocket || got[1] != WikiSocket {
		t.Errorf("sockets with the wiki: %v", got)
	}
	if got := Sockets(&Pack{}); len(got) != 1 || got[0] != ControlSocket {
		t.Errorf("sockets without the wiki: %v", got)
	}
	if err := CheckSockets(rootOf(MaxSocketPath-23), wiki); err != nil {
		t.Errorf("a socket path of exactly %d bytes: %v", MaxSocketPath, err)
	}
	root := rootOf(MaxSocketPath - 22)
	err := CheckSockets(root, wiki)
	if err == nil {
		t.Fatalf("a socket path of %d bytes was accepted", MaxSocketPath+1)
	}
	path := root + "/" + ControlSocket
	for lang, want := range map[i18n.Lang]string{
		i18n.FR: "le chemin de socket " + path + " fait 108 octets ; Linux n'en accepte que 107 au plus : choisissez un --root plus court",
		i18n.EN: "the socket path " + path + " is 108 bytes long; Linux accepts at most 107: choose a shorter --root",
	} {
		if got := i18n.Localize(err, lang); got != want {
			t.Errorf("%s:\n got %s\nwant %s", lang, got, want)
		}
	}
	if err.Error() != i18n.Localize(err, i18n.FR) {
		t.Error("the error does not speak French by default")
	}
	if err := CheckSockets("/", wiki); err != nil {
		t.Errorf("root /: %v", err)
	}
}
