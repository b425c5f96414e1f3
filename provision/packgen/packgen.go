// Package packgen generates large valid packs for tests and benchmarks: n
// sites spread over the three templates, each with a few Markdown pages.
package packgen

import (
	"fmt"
	"strings"
)

var templates = []string{"showcase", "event", "news"}

// Sites returns a pack with n sites named site-0001…, domains
// site-0001.example.org, and the given number of pages per site.
func Sites(n, pages int) []byte {
	var b strings.Builder
	b.WriteString(`apiVersion: ruche/v1
kind: Pack
association:
  name: "Association de test"
  slug: test-asso
  locale: fr
  contact: contact@example.org
box:
  hostname: testbox
  timezone: Europe/Paris
  tls: "off"
panel:
  users:
    - {login: alice, name: Alice, role: admin, email: alice@example.org}
sites:
`)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("site-%04d", i)
		fmt.Fprintf(&b, "  - name: %s\n    domains: [%s.example.org]\n    template: %s\n    title: \"Site n°%d\"\n    pages:\n",
			name, name, templates[i%len(templates)], i)
		for j := 0; j < pages; j++ {
			path := "/"
			if j > 0 {
				path = fmt.Sprintf("/page-%d", j)
			}
			fmt.Fprintf(&b, "      - path: %s\n        title: \"Page %d\"\n        body: |\n          Bonjour, ceci est la **page %d** du site %d.\n\n          - une liste\n          - de points\n", path, j, j, i)
		}
	}
	return []byte(b.String())
}
