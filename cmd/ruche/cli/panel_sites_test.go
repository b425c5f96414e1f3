package cli_test

import (
	"bytes"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sitesPanelPack is a box with an admin and one site; its comments must
// survive the panel's edits.
const sitesPanelPack = `# La box du test des sites : ce commentaire reste.
apiVersion: ruche/v1
kind: Pack
association:
  name: "Café d'ANAIS"
  slug: cafe-anais
  locale: fr
box:
  hostname: box
  tls: internal
sites:
  # Le site principal.
  - name: vitrine
    template: showcase
    title: "Café d'ANAIS"
panel:
  users:
    - {login: alice, name: Alice Martin, role: admin, email: alice@example.org}
`

// TestPanelSitesUp: through the real binary, an admin logs into the panel
// with its forms, creates a site from a template, adds its home page (its
// Markdown previewed first), and uploads a picture the page shows; the
// box then serves the page at the site's <name>-<hostname>.local name and
// the picture at /uploads/, and the live pack has the site with its
// comments kept.
func TestPanelSitesUp(t *testing.T) {
	root := boxRoot(t)
	withSecrets(t, root)
	u := startUp(t, root, writePack(t, t.TempDir(), "pack.yaml", sitesPanelPack))
	_, port, _ := strings.Cut(u.http, ":")
	base := "http://panel.localhost:" + port

	cmd := exec.Command(rucheBin, "user", "passwd", "alice", "--lang", "en", "--root", root)
	const alicePassword = "the café's site password"
	cmd.Stdin = strings.NewReader(alicePassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd alice: %v\n%s", err, out)
	}

	jar, _ := cookiejar.New(nil)
	browser := boxClient(u.http, nil, true)
	browser.Jar = jar
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	reCSRF := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	// send is what a browser does with a page of the panel: GET, or a
	// form (url-encoded, or multipart when files is not nil: the token
	// first, as the upload form has it).
	var csrf string
	send := func(method, path string, fields url.Values, files map[string][]byte) (int, string, string) {
		t.Helper()
		var body io.Reader
		ctype := ""
		switch {
		case files != nil:
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			mw.WriteField("csrf", csrf)
			for name, content := range files {
				w, _ := mw.CreateFormFile("file", name)
				w.Write(content)
			}
			mw.Close()
			body, ctype = &b, mw.FormDataContentType()
		case fields != nil:
			fields.Set("csrf", csrf)
			body, ctype = strings.NewReader(fields.Encode()), "application/x-www-form-urlencoded"
		}
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("Origin", base)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if m := reCSRF.FindStringSubmatch(string(b)); m != nil {
			csrf = html.UnescapeString(m[1])
		}
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}

	send("GET", "/login", nil, nil)
	if code, loc, body := send("POST", "/login", url.Values{"login": {"alice"}, "password": {alicePassword}}, nil); code != http.StatusSeeOther || loc != "/" {
		t.Fatalf("login: %d %q\n%.2000s", code, loc, body)
	}
	code, _, body := send("GET", "/sites", nil, nil)
	if code != 200 || !strings.Contains(body, `value="event"`) || !strings.Contains(body, "vitrine") {
		t.Fatalf("GET /sites: %d\n%.3000s", code, body)
	}

	// Create a site from the event template.
	start := time.Now()
	code, loc, body := send("POST", "/sites", url.Values{
		"template": {"event"}, "name": {"portes-ouvertes"}, "title": {"Portes ouvertes"},
		"event.date": {"2026-09-12"}, "event.place": {"12 rue des Lilas"},
	}, nil)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/sites/portes-ouvertes?rev=") {
		t.Fatalf("create the site: %d %q\n%.3000s", code, loc, body)
	}
	t.Logf("site created (a new revision, applied) in %v", time.Since(start).Round(time.Millisecond))
	if code, _, body := send("GET", loc, nil, nil); code != 200 || !strings.Contains(body, "portes-ouvertes-box.local") && !strings.Contains(body, "portes-ouvertes.localhost") {
		t.Errorf("the site's page: %d\n%.3000s", code, body)
	}

	// Upload the poster.
	poster := pngPicture(t, 32)
	code, loc, body = send("POST", "/sites/portes-ouvertes/uploads", nil, map[string][]byte{"Affiche Été.PNG": poster})
	if code != http.StatusSeeOther || !strings.Contains(loc, "uploaded=affiche-ete.png") {
		t.Fatalf("upload: %d %q\n%.3000s", code, loc, body)
	}
	// A text file named like a picture is refused.
	if code, _, body := send("POST", "/sites/portes-ouvertes/uploads", nil, map[string][]byte{"faux.png": []byte("<html>not a picture</html>")}); code != http.StatusUnsupportedMediaType {
		t.Errorf("upload of a text file: %d\n%.2000s", code, body)
	}

	// The home page: previewed, then saved.
	md := "Venez **nombreux** !\n\n![L'affiche](/uploads/affiche-ete.png)\n"
	send("GET", "/sites/portes-ouvertes/page", nil, nil)
	code, _, body = send("POST", "/sites/portes-ouvertes/page", url.Values{"path": {"/"}, "title": {"Bienvenue"}, "body": {md}, "action": {"preview"}}, nil)
	if code != 200 || !strings.Contains(body, "<strong>nombreux</strong>") || !strings.Contains(body, `src="/sites/portes-ouvertes/files/affiche-ete.png"`) {
		t.Errorf("preview: %d\n%.3000s", code, body)
	}
	start = time.Now()
	code, loc, body = send("POST", "/sites/portes-ouvertes/page", url.Values{"path": {"/"}, "title": {"Bienvenue"}, "body": {md}, "action": {"save"}}, nil)
	if code != http.StatusSeeOther || !strings.Contains(loc, "rev=") {
		t.Fatalf("save the page: %d %q\n%.3000s", code, loc, body)
	}
	t.Logf("page saved (a new revision, applied) in %v", time.Since(start).Round(time.Millisecond))

	// The box serves the site at its LAN name, with the picture.
	host := "portes-ouvertes-box.local"
	eventually(t, 10*time.Second, host+" never served the new page", func() bool {
		code, body, err := get(u.http, host, "/")
		return err == nil && code == 200 && strings.Contains(body, "<strong>nombreux</strong>") && strings.Contains(body, `src="/uploads/affiche-ete.png"`)
	})
	req, _ := http.NewRequest("GET", "http://"+u.http+"/uploads/affiche-ete.png", nil)
	req.Host = host
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, poster) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET %s/uploads/affiche-ete.png: %d %q, same bytes %v", host, resp.StatusCode, resp.Header.Get("Content-Type"), bytes.Equal(got, poster))
	}

	live, err := os.ReadFile(filepath.Join(root, "etc/ruche/pack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# La box du test des sites : ce commentaire reste.", "# Le site principal.", "name: portes-ouvertes", "Venez **nombreux**"} {
		if !strings.Contains(string(live), want) {
			t.Errorf("the live pack lacks %q:\n%s", want, live)
		}
	}
}

// pngPicture is a real PNG of side×side pixels.
func pngPicture(t *testing.T, side int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for x := range side {
		img.Set(x, side-1-x, color.RGBA{B: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
