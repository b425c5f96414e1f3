package panel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/ruche-box/ruche/provision/i18n"
)

var msgNoCA = i18n.M{
	FR: "pas de certificat à télécharger : la box n'utilise pas d'autorité locale, ou ne l'a pas encore créée",
	EN: "no certificate to download: the box uses no local authority, or has not created it yet",
}

// The local certificate authority's root certificate. With box.tls:
// internal the box serves HTTPS with certificates of its own authority,
// which no device trusts until its root certificate is installed: /ca
// explains how, device by device, and /ca.crt serves the certificate.
// Both are public: a visitor's phone needs them before it can trust the
// panel's HTTPS, and a root certificate is no secret (its key never
// leaves the box).

// caDevice is one kind of device on the /ca page: a name and short steps,
// all of them keys of texts.
type caDevice struct {
	ID    string
	Name  string
	Steps []string
}

// caDevices are the devices /ca explains, most common first, with their
// number of steps (texts "ca.<id>.1" and on).
var caDevices = func() []caDevice {
	var out []caDevice
	for _, d := range []struct {
		id    string
		steps int
	}{{"android", 4}, {"ios", 5}, {"windows", 4}, {"macos", 4}, {"linux", 4}} {
		dev := caDevice{ID: d.id, Name: "ca." + d.id}
		for i := 1; i <= d.steps; i++ {
			dev.Steps = append(dev.Steps, "ca."+d.id+"."+strconv.Itoa(i))
		}
		out = append(out, dev)
	}
	return out
}()

// caPage is what the /ca page shows.
type caPage struct {
	// Mode is box.tls: internal, acme or off ("" without a pack).
	Mode string
	// Available: the mode is internal and the certificate was read.
	Available   bool
	Fingerprint string // SHA-256, "AB:CD:..." as devices show it
	Filename    string
	Devices     []caDevice
}

// tlsMode is the pack's box.tls, internal when empty (validation's
// default, as services/web reads it); "" without a pack.
func (p *Panel) tlsMode() string {
	pk := p.pack()
	if pk == nil {
		return ""
	}
	switch m := strings.TrimSpace(pk.Box.TLS); m {
	case "off", "acme":
		return m
	}
	return "internal"
}

// caCert reads the local CA's root certificate: its DER bytes, nil when
// the box has none to offer (another TLS mode, no file yet, no PEM
// certificate in it).
func (p *Panel) caCert() []byte {
	if p.tlsMode() != "internal" || p.opts.CACertPath == "" {
		return nil
	}
	data, err := os.ReadFile(p.opts.CACertPath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			p.log.Warn("local CA certificate", "path", p.opts.CACertPath, "err", err)
		}
		return nil
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			p.log.Warn("local CA certificate: no PEM certificate in the file", "path", p.opts.CACertPath)
			return nil
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes
		}
	}
}

// fingerprint is the SHA-256 of a certificate, in pairs of upper-case hex
// digits separated by colons, as phones and browsers show it.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	pairs := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, ":")
}

// caFilename is the downloaded certificate's name: ruche-<hostname>-ca.crt.
func (p *Panel) caFilename() string {
	host := ""
	if pk := p.pack(); pk != nil {
		host = strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
				return r
			case r >= 'A' && r <= 'Z':
				return r + 'a' - 'A'
			}
			return -1
		}, pk.Box.Hostname)
	}
	if host == "" {
		return "ruche-ca.crt"
	}
	return "ruche-" + host + "-ca.crt"
}

// caPage is GET /ca: how to install the local CA's certificate.
func (p *Panel) caPage(c *call) {
	d := caPage{Mode: p.tlsMode(), Filename: p.caFilename(), Devices: caDevices}
	if der := p.caCert(); der != nil {
		d.Available, d.Fingerprint = true, fingerprint(der)
	}
	c.page(http.StatusOK, "ca", text(c.lang, "ca.title"), "", d)
}

// caFile is GET /ca.crt: the local CA's root certificate in PEM; 404 when
// the box has none to offer.
func (p *Panel) caFile(c *call) {
	der := p.caCert()
	if der == nil {
		c.fail(http.StatusNotFound, msgNoCA)
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/x-x509-ca-cert")
	h.Set("Content-Disposition", `attachment; filename="`+p.caFilename()+`"`)
	h.Set("Cache-Control", "no-cache")
	c.w.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
