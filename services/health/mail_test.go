package health

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/health/dnstest"
)

// zone is the DNS of the tests: one domain per case, and the relay's and
// the mail host's own records they refer to.
const zone = `
$TTL 300
; The root, as any resolver that reaches the Internet knows it.
.                          NS    a.root.example.
; The relay the box sends through, and its provider's SPF.
smtp.relay.example.        A     203.0.113.9
_spf.relay.example.        TXT   "v=spf1 ip4:203.0.113.0/24 -all"
; A mail host's servers, and its SPF.
mx1.mailhost.example.      A     192.0.2.25
mx1.mailhost.example.      AAAA  2001:db8::25
mx2.mailhost.example.      A     192.0.2.26
_spf.mailhost.example.     TXT   "v=spf1 ip4:192.0.2.0/24 ~all"
_spf.other-host.example.   TXT   "v=spf1 ip4:203.0.113.0/28 ip4:192.0.2.0/24 -all"

; The usual good setup of a box on a local network: mail arrives at the
; host, the SPF includes the relay's provider, DMARC observes.
host.example.              MX    10 mx1.mailhost.example.
host.example.              MX    20 mx2.mailhost.example.
host.example.              TXT   "google-site-verification=abc123"
host.example.              TXT   "v=spf1 mx include:_spf.relay.example ~all"
_dmarc.host.example.       TXT   "v=DMARC1; p=none; rua=mailto:dmarc@host.example"

; A web site, no mail yet.
nomx.example.              A     192.0.2.80
nomx.example.              TXT   "v=spf1 a:smtp.relay.example ~all"
_dmarc.nomx.example.       TXT   "v=DMARC1; p=none"

; The MX leads to the box's own public address.
box.example.               MX    10 mail.box.example.
mail.box.example.          A     198.51.100.7
box.example.               TXT   "v=spf1 mx a:smtp.relay.example -all"
_dmarc.box.example.        TXT   "v=DMARC1; p=quarantine"

; The MX leads to a LAN address.
lan.example.               MX    10 mail.lan.example.
mail.lan.example.          A     192.168.1.10
lan.example.               TXT   "v=spf1 a:smtp.relay.example ~all"
_dmarc.lan.example.        TXT   "v=DMARC1; p=none"

; The MX names a server that does not exist.
dangling.example.          MX    10 mail.nowhere.example.
_dmarc.dangling.example.   TXT   "v=DMARC1; p=none"

; Two SPF records (the second one split in two strings, as long ones are).
twospf.example.            MX    10 mx1.mailhost.example.
twospf.example.            TXT   "v=spf1 mx ~all"
twospf.example.            TXT   "v=spf1 include:_spf.relay.example " "~all"
_dmarc.twospf.example.     TXT   "v=DMARC1; p=none"

; No DMARC; the relay passes by address, through the host's include.
nodmarc.example.           MX    10 mx1.mailhost.example.
nodmarc.example.           TXT   "v=spf1 include:_spf.other-host.example -all"

; An SPF without the relay, and a DMARC that refuses what fails.
norelay.example.           MX    10 mx1.mailhost.example.
norelay.example.           TXT   "v=spf1 mx -all"
_dmarc.norelay.example.    TXT   "v=DMARC1; p=reject"

; The same without DMARC: only a warning.
norelay-soft.example.      MX    10 mx1.mailhost.example.
norelay-soft.example.      TXT   "v=spf1 mx include:_spf.mailhost.example ~all"

; Anyone may send; a DMARC without policy.
plusall.example.           MX    10 mx1.mailhost.example.
plusall.example.           TXT   "v=spf1 +all"
_dmarc.plusall.example.    TXT   "v=DMARC1; rua=mailto:x@plusall.example"

; A domain that says it takes no mail (RFC 7505).
nullmx.example.            MX    0 .
nullmx.example.            TXT   "v=spf1 -all"

; café.example, in punycode.
xn--caf-dma.example.       MX    10 mx1.mailhost.example.
xn--caf-dma.example.       TXT   "v=spf1 include:_spf.relay.example ~all"
_dmarc.xn--caf-dma.example. TXT  "v=DMARC1; p=none"
`

// boxAddrs is a box with one public address, sending through the relay.
var boxAddrs = BoxAddrs{Public: []netip.Addr{netip.MustParseAddr("198.51.100.7")}, Relay: "smtp.relay.example"}

func TestCheckMailDomain(t *testing.T) {
	srv := dnstest.Start(t, zone)
	srv.FailFor("broken.example")
	r := srv.Resolver()

	tests := []struct {
		domain string
		box    BoxAddrs
		want   map[string]Level // check → level; a check not listed must not be reported
		check  func(t *testing.T, rep MailReport)
	}{
		{"host.example", boxAddrs, map[string]Level{"mx": Warning, "spf": OK, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			if len(rep.MX) != 2 || rep.MX[0].Host != "mx1.mailhost.example" || rep.MX[0].Pref != 10 || len(rep.MX[0].Addrs) != 2 || rep.ReceivesHere {
				t.Errorf("MX = %+v, ReceivesHere %v", rep.MX, rep.ReceivesHere)
			}
			if len(rep.SPF) != 1 || rep.RelayInSPF != Yes || rep.DMARCPolicy != "none" {
				t.Errorf("SPF %q (relay %v), DMARC policy %q", rep.SPF, rep.RelayInSPF, rep.DMARCPolicy)
			}
			wantText(t, rep, "mx", "mx1.mailhost.example, mx2.mailhost.example, not to this box")
		}},
		{"nomx.example", boxAddrs, map[string]Level{"mx": Problem, "spf": OK, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			if !rep.Exists || len(rep.MX) != 0 {
				t.Errorf("Exists %v, MX %+v", rep.Exists, rep.MX)
			}
			wantText(t, rep, "mx", "nobody can send mail to an address @nomx.example yet")
		}},
		{"box.example", boxAddrs, map[string]Level{"mx": Warning, "spf": OK, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			if !rep.ReceivesHere || !rep.MX[0].ToBox {
				t.Errorf("ReceivesHere %v, MX %+v: want the MX to lead to the box", rep.ReceivesHere, rep.MX)
			}
			wantText(t, rep, "mx", "points to this box (mail.box.example → 198.51.100.7), but a box on a local network usually cannot receive mail")
		}},
		// The same MX, seen from a box without that address: someone else's server.
		{"box.example", BoxAddrs{Relay: "smtp.relay.example"}, map[string]Level{"mx": Warning, "spf": OK, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			if rep.ReceivesHere {
				t.Error("ReceivesHere for a box without public address")
			}
			wantText(t, rep, "mx", "not to this box")
		}},
		{"lan.example", boxAddrs, map[string]Level{"mx": Problem, "spf": OK, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			wantText(t, rep, "mx", "local network address (192.168.1.10)")
		}},
		{"dangling.example", boxAddrs, map[string]Level{"mx": Problem, "spf": Warning, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			wantText(t, rep, "mx", "leads to no address")
			wantAdvice(t, rep, "spf", `"v=spf1 mx a:smtp.relay.example ~all"`)
		}},
		{"twospf.example", boxAddrs, map[string]Level{"mx": Warning, "spf": Problem, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			if len(rep.SPF) != 2 || rep.SPF[1] != "v=spf1 include:_spf.relay.example ~all" {
				t.Errorf("SPF = %q: want both, the second joined from its strings", rep.SPF)
			}
			wantText(t, rep, "spf", "2 SPF records")
		}},
		{"nodmarc.example", boxAddrs, map[string]Level{"mx": Warning, "spf": OK, "dmarc": Warning}, func(t *testing.T, rep MailReport) {
			if rep.RelayInSPF != Yes {
				t.Errorf("RelayInSPF = %v: the relay's address is in the included record", rep.RelayInSPF)
			}
			wantAdvice(t, rep, "dmarc", `_dmarc.nodmarc.example the TXT record "v=DMARC1; p=none"`)
		}},
		{"norelay.example", boxAddrs, map[string]Level{"mx": Warning, "spf": Problem, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			if rep.RelayInSPF != No {
				t.Errorf("RelayInSPF = %v, want No", rep.RelayInSPF)
			}
			wantText(t, rep, "spf", "DMARC policy (reject)")
			wantAdvice(t, rep, "spf", `"v=spf1 mx a:smtp.relay.example -all"`)
		}},
		{"norelay-soft.example", boxAddrs, map[string]Level{"mx": Warning, "spf": Warning, "dmarc": Warning}, nil},
		// Without a relay in the pack, nobody asks the SPF for it.
		{"norelay-soft.example", BoxAddrs{}, map[string]Level{"mx": Warning, "spf": OK, "dmarc": Warning}, nil},
		{"plusall.example", boxAddrs, map[string]Level{"mx": Warning, "spf": Warning, "dmarc": Warning}, func(t *testing.T, rep MailReport) {
			wantText(t, rep, "spf", `"+all"`)
			wantText(t, rep, "dmarc", "no valid policy")
		}},
		{"nullmx.example", boxAddrs, map[string]Level{"mx": Problem, "spf": Warning, "dmarc": Warning}, func(t *testing.T, rep MailReport) {
			if !rep.NullMX {
				t.Error("NullMX not seen")
			}
		}},
		{"café.example", boxAddrs, map[string]Level{"mx": Warning, "spf": OK, "dmarc": OK}, func(t *testing.T, rep MailReport) {
			if rep.ASCII != "xn--caf-dma.example" {
				t.Errorf("ASCII = %q", rep.ASCII)
			}
		}},
		{"absent.example", boxAddrs, map[string]Level{"domain": Problem}, func(t *testing.T, rep MailReport) {
			if rep.Exists || rep.DNS != DNSAnswered {
				t.Errorf("Exists %v, DNS %v: want a domain the DNS says does not exist", rep.Exists, rep.DNS)
			}
		}},
		{"broken.example", boxAddrs, map[string]Level{"dns": Warning}, func(t *testing.T, rep MailReport) {
			if rep.DNS != DNSFailed {
				t.Errorf("DNS = %v, want DNSFailed", rep.DNS)
			}
		}},
		{"not a domain", boxAddrs, map[string]Level{"domain": Problem}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			rep := CheckMailDomain(ctx, r, tt.domain, tt.box)
			got := map[string]Level{}
			for _, f := range rep.Findings {
				if _, dup := got[f.Check]; dup {
					t.Errorf("two findings for %s", f.Check)
				}
				got[f.Check] = f.Level
				for _, lang := range []i18n.Lang{i18n.FR, i18n.EN} {
					for _, s := range []string{f.Text.String(lang), f.Advice.String(lang)} {
						if strings.Contains(s, "%!") {
							t.Errorf("badly formatted message: %s", s)
						}
					}
				}
				if f.Level != OK && !f.HasAdvice() {
					t.Errorf("%s is a %v without advice: %s", f.Check, f.Level, f.Text.String(i18n.EN))
				}
			}
			for check, want := range tt.want {
				if g, ok := got[check]; !ok || g != want {
					t.Errorf("%s: got %v (reported %v), want %v", check, g, ok, want)
				}
			}
			for check := range got {
				if _, ok := tt.want[check]; !ok {
					t.Errorf("unexpected %s finding: %s", check, findingText(rep, check))
				}
			}
			if tt.check != nil {
				tt.check(t, rep)
			}
			if t.Failed() {
				for _, f := range rep.Findings {
					t.Logf("%s %v: %s → %s", f.Check, f.Level, f.Text.String(i18n.EN), f.Advice.String(i18n.EN))
				}
			}
		})
	}
}

// A DNS server that never answers, a port where none listens, a server
// that knows nothing: the check ends (at the latest when its context does)
// with one warning, and no other verdict.
func TestCheckMailDomainUnreachable(t *testing.T) {
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.LocalAddr().String()
	closed.Close()
	// A DNS server cut from the Internet that says "no such domain" to
	// everything: the domain is not called absent on its word.
	isolated := dnstest.Start(t, "").Addr
	for name, addr := range map[string]string{"silent": dnstest.Silent(t), "closed": closedAddr, "isolated": isolated} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			rep := CheckMailDomain(ctx, dnstest.Resolver(addr), "host.example", boxAddrs)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v with a 500 ms deadline", d)
			}
			if rep.DNS != DNSUnreachable || len(rep.Findings) != 1 || rep.Findings[0].Check != "dns" || rep.Level() != Warning {
				t.Fatalf("DNS %v, findings %+v: want one DNS warning", rep.DNS, rep.Findings)
			}
			fr, en := rep.Findings[0].Text.String(i18n.FR), rep.Findings[0].Text.String(i18n.EN)
			if !strings.HasPrefix(fr, "le DNS est injoignable : ") || !strings.Contains(fr, "MX, SPF et DMARC de host.example ne sont pas vérifiés") {
				t.Errorf("French text: %s", fr)
			}
			if !strings.HasPrefix(en, "DNS cannot be reached: ") {
				t.Errorf("English text: %s", en)
			}
		})
	}
}

func TestSPFHelpers(t *testing.T) {
	for _, tt := range []struct{ record, term, want string }{
		{"v=spf1 mx ~all", "a:smtp.relay.example", "v=spf1 mx a:smtp.relay.example ~all"},
		{"v=spf1 mx -all", "ip4:203.0.113.9", "v=spf1 mx ip4:203.0.113.9 -all"},
		{"v=spf1 redirect=_spf.host.example", "a:r.example", "v=spf1 a:r.example redirect=_spf.host.example"},
		{"v=spf1 mx", "a:r.example", "v=spf1 mx a:r.example"},
	} {
		if got := spfWith(tt.record, tt.term); got != tt.want {
			t.Errorf("spfWith(%q, %q) = %q, want %q", tt.record, tt.term, got, tt.want)
		}
	}
	for _, tt := range []struct {
		rest         string
		dom          string
		bits4, bits6 int
	}{
		{"", "", 32, 128},
		{":example.org", "example.org", 32, 128},
		{":example.org/24", "example.org", 24, 128},
		{"/24//64", "", 24, 64},
		{":example.org//48", "example.org", 32, 48},
	} {
		dom, b4, b6 := spfDomainCIDR(tt.rest)
		if dom != tt.dom || b4 != tt.bits4 || b6 != tt.bits6 {
			t.Errorf("spfDomainCIDR(%q) = %q, %d, %d", tt.rest, dom, b4, b6)
		}
	}
	if got := dmarcPolicy("v=DMARC1;p=Reject; rua=mailto:a@b"); got != "reject" {
		t.Errorf("dmarcPolicy = %q", got)
	}
	if got := dmarcRecords([]string{"v=DMARC1; p=none", "v=spf1 -all", "v = DMARC1 ;p=none", "v=DMARC2; p=none"}); len(got) != 2 {
		t.Errorf("dmarcRecords kept %q", got)
	}
	if got := spfRecords([]string{"v=spf1", "V=SPF1 mx", "v=spf10 mx", "v=spf1mx"}); len(got) != 2 {
		t.Errorf("spfRecords kept %q", got)
	}
}

func findingText(rep MailReport, check string) string {
	for _, f := range rep.Findings {
		if f.Check == check {
			return f.Text.String(i18n.EN)
		}
	}
	return ""
}

func wantText(t *testing.T, rep MailReport, check, want string) {
	t.Helper()
	if s := findingText(rep, check); !strings.Contains(s, want) {
		t.Errorf("%s says %q, want it to contain %q", check, s, want)
	}
}

func wantAdvice(t *testing.T, rep MailReport, check, want string) {
	t.Helper()
	for _, f := range rep.Findings {
		if f.Check == check {
			if s := f.Advice.String(i18n.EN); !strings.Contains(s, want) {
				t.Errorf("%s advice %q, want it to contain %q", check, s, want)
			}
			return
		}
	}
	t.Errorf("no %s finding", check)
}
