package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// A mail domain's fate is written in three DNS records that the box does not
// control, since they live at the domain's host: MX (where mail for the
// domain goes), SPF (who may send as the domain) and DMARC (what receivers
// do with mail that fails SPF). CheckMailDomain reads them and says, for a
// volunteer, whether this box can receive the domain's mail and what to ask
// of the host.

// BoxAddrs is how the box stands towards the Internet's mail.
type BoxAddrs struct {
	// Public are the box's own public addresses (see PublicAddrs): an MX
	// that resolves to one of them points at this box. Most boxes on a
	// local network have none.
	Public []netip.Addr
	// Relay is the pack's mail.relay.host: the box's outgoing mail leaves
	// through it, so the domain's SPF must allow it. Empty: no relay.
	Relay string
}

// DNSState says whether the DNS could be asked at all.
type DNSState int

// DNS states.
const (
	DNSAnswered    DNSState = iota // the DNS answered (records may still be missing)
	DNSUnreachable                 // no answer at all: no network, no DNS server, timeout
	DNSFailed                      // a DNS server answered with an error (SERVFAIL)
)

// Answer is the outcome of a yes/no question the DNS may leave open.
type Answer int

// Answers.
const (
	Unknown Answer = iota
	Yes
	No
)

// MXHost is one MX record and where it leads.
type MXHost struct {
	Host  string // the target, without its final dot; "." for a null MX
	Pref  uint16
	Addrs []netip.Addr // what Host resolves to
	ToBox bool         // one of Addrs is one of the box's public addresses
	LAN   bool         // one of Addrs only exists on a local network
}

// Finding is one verdict on a domain, in plain words.
type Finding struct {
	Check  string // "domain", "dns", "mx", "spf" or "dmarc"
	Level  Level
	Text   i18n.Text // what is
	Advice i18n.Text // what to do; see HasAdvice
}

// HasAdvice reports whether the finding says what to do.
func (f Finding) HasAdvice() bool { return f.Advice.Msg != (i18n.M{}) }

// MailReport is what the DNS says of one mail domain.
type MailReport struct {
	Domain string // as the pack writes it
	ASCII  string // as the DNS knows it (IDN in punycode)
	DNS    DNSState
	Err    error // the failed lookup, when DNS is not DNSAnswered
	Exists bool  // the DNS knows the domain (some record answers)

	MX           []MXHost // by preference
	NullMX       bool     // "MX 0 .": the domain says it takes no mail (RFC 7505)
	ReceivesHere bool     // an MX leads to this box

	SPF         []string // every v=spf1 TXT record (only one is valid)
	RelayInSPF  Answer   // whether the SPF allows the relay; Unknown without relay or SPF
	DMARC       []string // every v=DMARC1 TXT record at _dmarc.<domain>
	DMARCPolicy string   // none, quarantine or reject; empty when missing or invalid

	// Findings are the verdicts, domain and DNS first, then MX, SPF and
	// DMARC. When the DNS could not be asked, the one finding says so.
	Findings []Finding
}

// Level is the worst of the findings.
func (r MailReport) Level() Level {
	l := OK
	for _, f := range r.Findings {
		l = max(l, f.Level)
	}
	return l
}

// CheckMailDomain asks r for domain's MX, SPF and DMARC records and judges
// them for box. It never fails: a DNS that cannot be asked is a finding.
// ctx bounds the whole check; give it a deadline of a few seconds.
func CheckMailDomain(ctx context.Context, r *net.Resolver, domain string, box BoxAddrs) MailReport {
	rep := MailReport{Domain: domain}
	ascii, ok := provision.ASCIIDomain(domain)
	if !ok {
		rep.add("domain", Problem, i18n.T(msgNotDomain, domain), i18n.T(msgNotDomainDo))
		return rep
	}
	rep.ASCII = ascii
	c := &checker{ctx: ctx, r: r, rep: &rep}
	if c.gather(box) {
		c.judge(box)
	}
	return rep
}

// checker runs one domain's lookups and stops at the first that fails:
// the next ones would wait for the same silent server.
type checker struct {
	ctx context.Context
	r   *net.Resolver
	rep *MailReport
}

// gather fills the report from the DNS. It returns false, with the one DNS
// finding added, when a lookup failed.
func (c *checker) gather(box BoxAddrs) bool {
	rep := c.rep
	mxs, err := c.r.LookupMX(c.ctx, fqdn(rep.ASCII))
	if len(mxs) == 0 && !c.absent(err) {
		return false
	}
	for _, mx := range mxs {
		host := strings.TrimSuffix(strings.ToLower(mx.Host), ".")
		if host == "" {
			rep.NullMX = true
			continue
		}
		rep.MX = append(rep.MX, MXHost{Host: host, Pref: mx.Pref})
	}

	txts, err := c.r.LookupTXT(c.ctx, fqdn(rep.ASCII))
	if !c.absent(err) {
		return false
	}
	rep.SPF = spfRecords(txts)
	dmarc, err := c.r.LookupTXT(c.ctx, fqdn("_dmarc."+rep.ASCII))
	if !c.absent(err) {
		return false
	}
	rep.DMARC = dmarcRecords(dmarc)
	if len(rep.DMARC) == 1 {
		rep.DMARCPolicy = dmarcPolicy(rep.DMARC[0])
	}

	// The Go resolver answers "no such host" both for a name that does not
	// exist (NXDOMAIN) and for one without records of the asked type, so
	// a domain without MX is asked for anything else before it is called
	// absent.
	rep.Exists = len(mxs) > 0 || len(txts) > 0
	if !rep.Exists {
		addrs, err := c.r.LookupNetIP(c.ctx, "ip", fqdn(rep.ASCII))
		if !c.absent(err) {
			return false
		}
		ns, err := c.r.LookupNS(c.ctx, fqdn(rep.ASCII))
		if !c.absent(err) {
			return false
		}
		rep.Exists = len(addrs) > 0 || len(ns) > 0
	}
	if !rep.Exists {
		// A DNS server cut from the Internet (a captive portal's, a
		// filtering one, a router whose line is down) may answer "no such
		// domain" for every name. Before telling a volunteer their domain
		// does not exist, make sure the server knows the DNS root.
		roots, err := c.r.LookupNS(c.ctx, ".")
		if !c.absent(err) {
			return false
		}
		if len(roots) == 0 {
			rep.DNS, rep.Err = DNSUnreachable, errNoRoot
			rep.add("dns", Warning, i18n.T(msgDNSIsolated, rep.Domain), i18n.T(msgDNSUnreachableDo))
			return false
		}
	}

	for i := range rep.MX {
		mx := &rep.MX[i]
		addrs, err := c.r.LookupNetIP(c.ctx, "ip", fqdn(mx.Host))
		if !c.absent(err) {
			return false
		}
		for _, a := range addrs {
			a = a.Unmap()
			mx.Addrs = append(mx.Addrs, a)
			mx.LAN = mx.LAN || lanOnly(a)
			mx.ToBox = mx.ToBox || slices.ContainsFunc(box.Public, func(b netip.Addr) bool { return b.Unmap() == a })
		}
		rep.ReceivesHere = rep.ReceivesHere || mx.ToBox
	}

	if box.Relay != "" && len(rep.SPF) == 1 {
		w := newSPFWalk(c.ctx, c.r, box.Relay)
		switch {
		case w.allows(rep.ASCII, rep.SPF[0], 0):
			rep.RelayInSPF = Yes
		case w.unsure:
			rep.RelayInSPF = Unknown
		default:
			rep.RelayInSPF = No
		}
	}
	return true
}

// errNoRoot is the failure of a DNS server that does not know the root zone.
var errNoRoot = errors.New("the DNS server does not know the root zone")

// absent reports whether a lookup answered, with records or with "no such
// record". Otherwise it records the failure in the report, with its
// finding, and returns false.
func (c *checker) absent(err error) bool {
	state := dnsState(err)
	if state == DNSAnswered {
		return true
	}
	rep := c.rep
	rep.DNS, rep.Err = state, err
	reason := err.Error()
	var de *net.DNSError
	if errors.As(err, &de) {
		reason = de.Err // "i/o timeout", not the whole "lookup x on y:" sentence
	}
	if state == DNSUnreachable {
		rep.add("dns", Warning, i18n.T(msgDNSUnreachable, rep.Domain, reason), i18n.T(msgDNSUnreachableDo))
	} else {
		rep.add("dns", Warning, i18n.T(msgDNSFailed, rep.Domain, reason), i18n.T(msgDNSFailedDo))
	}
	return false
}

// dnsState sorts a lookup's error. Go reports both NXDOMAIN and "no record
// of this type" as IsNotFound; a SERVFAIL as "server misbehaving"; anything
// else (timeouts, refused or unreachable servers) means the DNS could not
// be asked.
func dnsState(err error) DNSState {
	if err == nil {
		return DNSAnswered
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return DNSAnswered
		case de.IsTimeout:
			return DNSUnreachable
		case de.Err == "server misbehaving":
			return DNSFailed
		}
	}
	return DNSUnreachable
}

// judge turns what the DNS said into findings.
func (c *checker) judge(box BoxAddrs) {
	rep := c.rep
	d := rep.Domain

	// Where the domain's mail goes, and whether this box can receive it.
	switch {
	case !rep.Exists:
		rep.add("domain", Problem, i18n.T(msgNoDomain, d), i18n.T(msgNoDomainDo))
		return // SPF and DMARC of a domain that does not exist say nothing
	case rep.NullMX && len(rep.MX) == 0:
		rep.add("mx", Problem, i18n.T(msgNullMX, d), i18n.T(msgNullMXDo))
	case len(rep.MX) == 0:
		rep.add("mx", Problem, i18n.T(msgNoMX, d), i18n.T(msgNoMXDo))
	default:
		c.judgeMX()
	}

	// Who may send as the domain.
	relayTerm := spfRelayTerm(box.Relay)
	switch len(rep.SPF) {
	case 0:
		suggested := "v=spf1 mx ~all"
		if relayTerm != "" {
			suggested = "v=spf1 mx " + relayTerm + " ~all"
		}
		rep.add("spf", Warning, i18n.T(msgNoSPF, d), i18n.T(msgNoSPFDo, rep.ASCII, suggested))
	case 1:
		spf := rep.SPF[0]
		switch {
		case spfPlusAll(spf):
			rep.add("spf", Warning, i18n.T(msgSPFPlusAll, d), i18n.T(msgSPFPlusAllDo))
		case rep.RelayInSPF == No:
			level, text := Warning, i18n.T(msgSPFNoRelay, d, box.Relay)
			if rep.DMARCPolicy == "quarantine" || rep.DMARCPolicy == "reject" {
				// Receivers are told to set aside or refuse what fails.
				level, text = Problem, i18n.T(msgSPFNoRelayStrict, d, box.Relay, rep.DMARCPolicy)
			}
			rep.add("spf", level, text, i18n.T(msgSPFNoRelayDo, relayTerm, spfWith(spf, relayTerm)))
		default:
			rep.add("spf", OK, i18n.T(msgSPFOK, spf), i18n.Text{})
		}
	default:
		rep.add("spf", Problem, i18n.T(msgManySPF, len(rep.SPF), d), i18n.T(msgManySPFDo))
	}

	// What receivers do with mail that fails.
	switch {
	case len(rep.DMARC) == 0:
		rep.add("dmarc", Warning, i18n.T(msgNoDMARC, d), i18n.T(msgNoDMARCDo, rep.ASCII))
	case len(rep.DMARC) > 1:
		rep.add("dmarc", Warning, i18n.T(msgManyDMARC, len(rep.DMARC), rep.ASCII), i18n.T(msgManyDMARCDo))
	case rep.DMARCPolicy == "":
		rep.add("dmarc", Warning, i18n.T(msgDMARCBad, d, rep.DMARC[0]), i18n.T(msgDMARCBadDo))
	default:
		rep.add("dmarc", OK, i18n.T(msgDMARCOK, rep.DMARCPolicy), i18n.Text{})
	}
}

// judgeMX says where the MX lead: to a local network (a mistake), nowhere,
// to this box, or to the host's mail servers (the usual, right, setup for
// a box on a local network).
func (c *checker) judgeMX() {
	rep := c.rep
	var hosts []string
	for _, mx := range rep.MX {
		hosts = append(hosts, mx.Host)
	}
	list := strings.Join(hosts, ", ")
	for _, mx := range rep.MX {
		if mx.LAN {
			rep.add("mx", Problem, i18n.T(msgMXLAN, mx.Host, joinAddrs(mx.Addrs)), i18n.T(msgMXLANDo))
			return
		}
	}
	if !slices.ContainsFunc(rep.MX, func(mx MXHost) bool { return len(mx.Addrs) > 0 }) {
		rep.add("mx", Problem, i18n.T(msgMXNoAddr, list), i18n.T(msgMXNoAddrDo))
		return
	}
	if rep.ReceivesHere {
		var here []string
		for _, mx := range rep.MX {
			if mx.ToBox {
				here = append(here, mx.Host+" → "+joinAddrs(mx.Addrs))
			}
		}
		rep.add("mx", Warning, i18n.T(msgMXBox, strings.Join(here, ", ")), i18n.T(msgMXBoxDo))
		return
	}
	rep.add("mx", Warning, i18n.T(msgMXHost, list), i18n.T(msgMXHostDo))
}

func (r *MailReport) add(check string, level Level, text, advice i18n.Text) {
	r.Findings = append(r.Findings, Finding{Check: check, Level: level, Text: text, Advice: advice})
}

// fqdn makes a name absolute, so that the resolver never tries it under
// the LAN's search domains ("cafe-anais.org.home.lan").
func fqdn(name string) string { return name + "." }

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// spfRecords keeps the TXT records that are SPF: "v=spf1" alone or
// followed by a space, in any case (RFC 7208, 4.5).
func spfRecords(txts []string) []string {
	var out []string
	for _, t := range txts {
		l := strings.ToLower(t)
		if l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			out = append(out, t)
		}
	}
	return out
}

// dmarcRecords keeps the TXT records that are DMARC (RFC 7489, 6.6.3).
func dmarcRecords(txts []string) []string {
	var out []string
	for _, t := range txts {
		tag, _, _ := strings.Cut(t, ";")
		if k, v, ok := strings.Cut(strings.TrimSpace(tag), "="); ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == "DMARC1" {
			out = append(out, t)
		}
	}
	return out
}

// dmarcPolicy returns a DMARC record's p= value when it is one of the
// three the RFC defines, else "".
func dmarcPolicy(record string) string {
	for _, tag := range strings.Split(record, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(tag), "=")
		if !ok || strings.TrimSpace(k) != "p" {
			continue
		}
		switch p := strings.ToLower(strings.TrimSpace(v)); p {
		case "none", "quarantine", "reject":
			return p
		}
		return ""
	}
	return ""
}

// Resolver returns the resolver the mail checks ask: the system's DNS
// servers (from /etc/resolv.conf) when addr is empty, else only the DNS
// server at addr (host:port). It is Go's own resolver either way, so that a
// context's deadline bounds every lookup even on a box with no network.
func Resolver(addr string) *net.Resolver {
	if addr == "" {
		return &net.Resolver{PreferGo: true}
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}
