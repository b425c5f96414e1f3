package health

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/ruche-box/ruche/provision"
)

// Does the domain's SPF let the relay send as the domain? The box sends
// through the relay, so the receiver sees the relay's outgoing servers,
// which are often not the host name the box connects to (smtp.provider.net
// submits, out-12.provider.net delivers). So the relay is recognised by
// name (an include: or redirect= under the same registrable domain as the
// relay, which is how providers publish their SPF), or by address (the
// relay's addresses inside an ip4:, ip6:, a or mx of the record, following
// include: and redirect=). It is a judgement for advice, not an SPF
// evaluator: when it cannot tell, it says Unknown and nothing is reported.

// maxSPFLookups is SPF's own bound on DNS lookups for one check (RFC 7208,
// 4.6.4); a record needing more fails at receivers anyway.
const maxSPFLookups = 10

type spfWalk struct {
	ctx     context.Context
	r       *net.Resolver
	relay   string       // the relay's ASCII name; "" when it is an address
	site    string       // its registrable domain ("provider.net")
	ips     []netip.Addr // its addresses
	lookups int
	unsure  bool // a lookup failed or the budget ran out: No would be a guess
}

func newSPFWalk(ctx context.Context, r *net.Resolver, relay string) *spfWalk {
	w := &spfWalk{ctx: ctx, r: r}
	if a, err := netip.ParseAddr(relay); err == nil {
		w.ips = []netip.Addr{a.Unmap()}
		return w
	}
	w.relay = strings.ToLower(strings.TrimSuffix(relay, "."))
	if ascii, ok := provision.ASCIIDomain(relay); ok {
		w.relay = ascii
	}
	w.site = registrable(w.relay)
	addrs, err := r.LookupNetIP(ctx, "ip", fqdn(w.relay))
	w.failed(err)
	for _, a := range addrs {
		w.ips = append(w.ips, a.Unmap())
	}
	return w
}

// allows reports whether record, the SPF of domain, lets the relay send.
func (w *spfWalk) allows(domain, record string, depth int) bool {
	if depth > maxSPFLookups {
		return false // an include loop; receivers fail it too
	}
	var redirect string
	for _, term := range strings.Fields(record)[1:] {
		if k, v, ok := strings.Cut(term, "="); ok && !strings.ContainsAny(k, ":/") {
			if strings.EqualFold(k, "redirect") {
				redirect = v
			}
			continue // exp= and unknown modifiers say nothing of senders
		}
		qualifier := byte('+')
		if strings.ContainsRune("+-~?", rune(term[0])) {
			qualifier, term = term[0], term[1:]
		}
		i := strings.IndexAny(term, ":/")
		if i < 0 {
			i = len(term)
		}
		name, rest := strings.ToLower(term[:i]), term[i:]
		if name == "all" {
			// What follows "all", redirect included, is never read.
			return qualifier == '+'
		}
		if qualifier != '+' {
			continue // -, ~ and ? never let anyone pass
		}
		dom, bits4, bits6 := spfDomainCIDR(rest)
		if dom == "" {
			dom = domain
		}
		if strings.Contains(dom, "%") {
			w.unsure = true // a macro: depends on the sender, cannot tell here
			continue
		}
		var ok bool
		switch name {
		case "ip4", "ip6":
			ok = w.inPrefix(strings.TrimPrefix(rest, ":"))
		case "a":
			ok = w.nameIs(dom) || w.addrsOf(dom, bits4, bits6)
		case "mx":
			ok = w.mxOf(dom, bits4, bits6)
		case "include":
			ok = w.provider(dom) || w.follow(dom, depth)
		}
		if ok {
			return true
		}
	}
	if redirect != "" {
		return w.provider(redirect) || w.follow(redirect, depth)
	}
	return false
}

// spend takes one lookup from the budget.
func (w *spfWalk) spend() bool {
	if w.lookups >= maxSPFLookups {
		w.unsure = true
		return false
	}
	w.lookups++
	return true
}

// failed notes a lookup that could not be answered.
func (w *spfWalk) failed(err error) bool {
	if dnsState(err) != DNSAnswered {
		w.unsure = true
		return true
	}
	return false
}

func (w *spfWalk) nameIs(dom string) bool {
	return w.relay != "" && normName(dom) == w.relay
}

// provider reports whether dom is the relay's, or its provider's: the
// same registrable domain.
func (w *spfWalk) provider(dom string) bool {
	return w.nameIs(dom) || w.site != "" && registrable(normName(dom)) == w.site
}

// follow reads the SPF of dom (an include: or redirect=) and walks it.
func (w *spfWalk) follow(dom string, depth int) bool {
	if !w.spend() {
		return false
	}
	txts, err := w.r.LookupTXT(w.ctx, fqdn(normName(dom)))
	if w.failed(err) {
		return false
	}
	recs := spfRecords(txts)
	if len(recs) != 1 {
		return false // none or several: receivers fail it
	}
	return w.allows(normName(dom), recs[0], depth+1)
}

// addrsOf reports whether dom's addresses, widened to bits4/bits6, hold
// one of the relay's.
func (w *spfWalk) addrsOf(dom string, bits4, bits6 int) bool {
	if len(w.ips) == 0 || !w.spend() {
		return false
	}
	addrs, err := w.r.LookupNetIP(w.ctx, "ip", fqdn(normName(dom)))
	if w.failed(err) {
		return false
	}
	for _, a := range addrs {
		a = a.Unmap()
		bits := bits6
		if a.Is4() {
			bits = bits4
		}
		if p, err := a.Prefix(bits); err == nil && w.holds(p) {
			return true
		}
	}
	return false
}

// mxOf reports whether one of dom's MX is the relay.
func (w *spfWalk) mxOf(dom string, bits4, bits6 int) bool {
	if !w.spend() {
		return false
	}
	mxs, err := w.r.LookupMX(w.ctx, fqdn(normName(dom)))
	if len(mxs) == 0 && w.failed(err) {
		return false
	}
	for _, mx := range mxs {
		if w.nameIs(mx.Host) || w.addrsOf(mx.Host, bits4, bits6) {
			return true
		}
	}
	return false
}

// inPrefix reports whether the ip4:/ip6: value holds one of the relay's
// addresses.
func (w *spfWalk) inPrefix(v string) bool {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return w.holds(p.Masked())
}

func (w *spfWalk) holds(p netip.Prefix) bool {
	for _, a := range w.ips {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// spfDomainCIDR splits what follows a mechanism's name: ":domain/24//64".
func spfDomainCIDR(rest string) (dom string, bits4, bits6 int) {
	bits4, bits6 = 32, 128
	if i := strings.Index(rest, "//"); i >= 0 {
		if n, err := strconv.Atoi(rest[i+2:]); err == nil && n >= 0 && n <= 128 {
			bits6 = n
		}
		rest = rest[:i]
	}
	if i := strings.Index(rest, "/"); i >= 0 {
		if n, err := strconv.Atoi(rest[i+1:]); err == nil && n >= 0 && n <= 32 {
			bits4 = n
		}
		rest = rest[:i]
	}
	return strings.TrimPrefix(rest, ":"), bits4, bits6
}

func normName(d string) string { return strings.ToLower(strings.TrimSuffix(d, ".")) }

// registrable is a name's registrable domain ("provider.net" for
// "smtp.provider.net", "provider.co.uk" for "smtp.provider.co.uk").
func registrable(name string) string {
	if r, err := publicsuffix.EffectiveTLDPlusOne(name); err == nil {
		return r
	}
	return name
}

// spfRelayTerm is the SPF mechanism that allows the relay by itself.
func spfRelayTerm(relay string) string {
	if relay == "" {
		return ""
	}
	if a, err := netip.ParseAddr(relay); err == nil {
		if a.Unmap().Is4() {
			return "ip4:" + a.Unmap().String()
		}
		return "ip6:" + a.String()
	}
	if ascii, ok := provision.ASCIIDomain(relay); ok {
		return "a:" + ascii
	}
	return "a:" + relay
}

// spfPlusAll reports whether a record ends by letting anyone send.
func spfPlusAll(record string) bool {
	for _, t := range strings.Fields(record)[1:] {
		if strings.EqualFold(t, "all") || strings.EqualFold(t, "+all") {
			return true
		}
	}
	return false
}

// spfWith returns record with term added before its "all" or redirect=,
// where a mechanism still counts.
func spfWith(record, term string) string {
	fields := strings.Fields(record)
	for i := 1; i < len(fields); i++ {
		l := strings.ToLower(strings.TrimLeft(fields[i], "+-~?"))
		if l == "all" || strings.HasPrefix(l, "redirect=") {
			return strings.Join(append(fields[:i:i], append([]string{term}, fields[i:]...)...), " ")
		}
	}
	return strings.Join(append(fields, term), " ")
}
