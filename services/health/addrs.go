package health

import (
	"net"
	"net/netip"
)

// notPublic are ranges that look global to netip but that nobody on the
// Internet can reach the box at: shared address space behind a carrier's
// NAT (RFC 6598), IETF protocol assignments, benchmarking, documentation
// (RFC 5737, RFC 3849). A box in a container or a lab often has one.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// IsPublic reports whether a is an address the Internet could reach the
// box at (if no firewall stands in the way): global unicast, not private
// (RFC 1918, IPv6 unique local), not in a special-purpose range.
func IsPublic(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// lanOnly reports whether a can only be reached from a local network (or
// the machine itself): an MX pointing there is a mistake, whoever's box it is.
func lanOnly(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		notPublic[0].Contains(a) // carrier-grade NAT: private to the provider
}

// PublicAddrs returns the box's own public addresses, read from its network
// interfaces. A box behind a home router has none in IPv4 (the router holds
// the public address) but often one in IPv6, which French providers give
// every device.
func PublicAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if ok && IsPublic(ip) {
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}
