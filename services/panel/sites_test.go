package panel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/sites"
)

// enableSites gives the fixture what the daemon gives the panel for
// sites: the real templates and Markdown renderer of services/sites and
// the real uploads folder under the fixture's root. The live pack and its
// ApplyPack are the fixture's (edit_test.go: a real engine).
func (f *fixture) enableSites() {
	f.t.Helper()
	f.p.opts.SiteTemplates = func() []SiteTemplate {
		var out []SiteTemplate
		for _, t := range sites.Templates() {
			st := SiteTemplate{Name: t.Name, Description: t.Description}
			for _, prm := range t.Params {
				st.Params = append(st.Params, SiteParam{Name: prm.Name, Label: prm.Label, Hint: prm.Hint, Multiline: prm.Multiline})
			}
			out = append(out, st)
		}
		return out
	}
	f.p.opts.RenderMarkdown = sites.Markdown
	f.p.opts.SiteUploadsDir = sites.UploadsDir
}

// siteMatrixTarget is the URL TestRoleMatrix calls for a sites route: the
// site vitrine, except for what removes a site (the sites the matrix
// itself created, so that vitrine stays for the routes after), with the
// page or file a confirmation or removal names (created by the matrix's
// own earlier requests, or by enableMatrixUploads).
func siteMatrixTarget(key, target string) string {
	special := map[string]string{
		"POST /sites/{site}/remove":         "/sites/matrice/remove",
		"GET /sites/{site}/remove":          "/sites/matrice/remove",
		"DELETE /api/sites/{site}":          "/api/sites/matrice-api",
		"GET /sites/{site}/page/delete":     "/sites/vitrine/page/delete?path=/matrice",
		"DELETE /api/sites/{site}/pages":    "/api/sites/vitrine/pages?path=/matrice-api",
		"GET /sites/{site}/uploads/delete":  "/sites/vitrine/uploads/delete?file=matrice.png",
		"DELETE /api/sites/{site}/uploads":  "/api/sites/vitrine/uploads?file=matrice-api.png",
		"GET /sites/{site}/files/{file}":    "/sites/vitrine/files/photo.png",
		"POST /sites/{site}/page/delete":    "/sites/vitrine/page/delete",
		"POST /sites/{site}/uploads/delete": "/sites/vitrine/uploads/delete",
	}
	if s, ok := special[key]; ok {
		return s
	}
	return strings.ReplaceAll(target, "{site}", "vitrine")
}

// enableMatrixUploads puts the pictures TestRoleMatrix's upload routes
// name in vitrine's uploads folder.
func (f *fixture) enableMatrixUploads() {
	f.t.Helper()
	dir := filepath.Join(f.root, sites.UploadsDir("vitrine"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	for _, name := range []string{"matrice.png", "matrice-api.png", "photo.png"} {
		if err := os.WriteFile(filepath.Join(dir, name), testPNG(f.t, 4), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

// testPNG is a real PNG picture of side×side pixels.
func testPNG(t *testing.T, side int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for x := range side {
		img.Set(x, x, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// adminForm is a form POST as alice, the admin, with her CSRF token.
func (f *fixture) adminForm(target string, fields url.Values) *httptest.ResponseRecorder {
	f.t.Helper()
	tok := f.session("alice")
	if fields == nil {
		fields = url.Values{}
	}
	fields.Set(csrfField, csrfToken(tok))
	return f.do(withSession(form(target, fields), tok))
}

// adminGet is a GET as alice.
func (f *fixture) adminGet(target string) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.do(withSession(req("GET", target, nil), f.session("alice")))
}

// adminUpload sends files as the upload form does: the CSRF token first,
// then each file in the field "file".
func (f *fixture) adminUpload(target string, files map[string][]byte, order ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	tok := f.session("alice")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField(csrfField, csrfToken(tok)); err != nil {
		f.t.Fatal(err)
	}
	for _, name := range order {
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			f.t.Fatal(err)
		}
		w.Write(files[name])
	}
	mw.Close()
	r := req("POST", target, &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return f.do(withSession(r, tok))
}

func (f *fixture) livePack() string {
	f.t.Helper()
	raw, err := os.ReadFile(filepath.Join(f.root, provision.PackPath))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(raw)
}

func (f *fixture) site(name string) *provision.Site {
	for i := range f.pack.Sites {
		if f.pack.Sites[i].Name == name {
			return &f.pack.Sites[i]
		}
	}
	return nil
}

// An admin creates a site from a template: the live pack has it, with its
// params, and keeps its comments; the site's page lists its addresses.
// A bad name, a taken name or a bad domain come back from the pack's
// validation beside their field, with what the admin typed kept.
func TestSiteCreateFromTemplate(t *testing.T) {
	f := newFixture(t, true)
	f.enableSites()

	rec := f.adminGet("/sites")
	if rec.Code != 200 {
		t.Fatalf("GET /sites: %d", rec.Code)
	}
	for _, want := range []string{`value="event"`, `value="news"`, `value="showcase"`, `name="event.date"`, "vitrine.localhost"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET /sites lacks %q", want)
		}
	}

	rec = f.adminForm("/sites", url.Values{
		"name": {"portes-ouvertes"}, "title": {"Portes ouvertes"}, "template": {"event"},
		"domains":    {"po.cafe-anais.org"},
		"event.date": {"2026-09-12"}, "event.place": {"12 rue des Lilas"},
		"showcase.tagline": {"not the chosen template's"},
	})
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/sites/portes-ouvertes?rev=") {
		t.Fatalf("POST /sites: %d %q\n%.2000s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	live := f.livePack()
	for _, want := range []string{"# Le pack du Café : ce commentaire doit survivre", "# La vitrine : le site principal.", "name: portes-ouvertes", "2026-09-12"} {
		if !strings.Contains(live, want) {
			t.Errorf("live pack lacks %q:\n%s", want, live)
		}
	}
	s := f.site("portes-ouvertes")
	if s == nil || s.Template != "event" || s.Title != "Portes ouvertes" || s.Params["place"] != "12 rue des Lilas" || len(s.Params) != 2 || len(s.Domains) != 1 {
		t.Fatalf("site in the pack: %+v", s)
	}
	rec = f.adminGet(rec.Header().Get("Location"))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "portes-ouvertes.localhost") || !strings.Contains(rec.Body.String(), "http://po.cafe-anais.org/") {
		t.Errorf("the new site's page: %d\n%.3000s", rec.Code, rec.Body)
	}

	before := f.livePack()
	for _, tc := range []struct {
		name, domains, field, says string
	}{
		{"Pas Valide!", "", `id="name"`, "name"},
		{"vitrine", "", `id="name"`, "vitrine"},
		{"autre", "pas un domaine", `id="domains"`, "domain"},
	} {
		rec := f.adminForm("/sites", url.Values{"name": {tc.name}, "title": {"Un titre gardé"}, "template": {"showcase"}, "domains": {tc.domains}})
		body := rec.Body.String()
		if rec.Code != 400 {
			t.Errorf("name %q domains %q: %d, want 400", tc.name, tc.domains, rec.Code)
			continue
		}
		i := strings.Index(body, tc.field)
		if i < 0 || !strings.Contains(body[i:], `aria-invalid="true"`) || !strings.Contains(body, `value="Un titre gardé"`) || !strings.Contains(body, `value="`+tc.name+`"`) {
			t.Errorf("name %q domains %q: the form is not shown again with the error beside %s and the input kept:\n%.4000s", tc.name, tc.domains, tc.field, body)
		}
		if strings.Contains(body, "pack.yaml:") {
			t.Errorf("name %q: the error names the file and line, which the admin never saw:\n%.4000s", tc.name, body)
		}
		t.Logf("name %q domains %q → %s", tc.name, tc.domains, errorsIn(body))
	}
	if f.livePack() != before {
		t.Error("a refused site changed the live pack")
	}

	// The API twin, in English.
	tok := f.session("alice")
	r := withSession(jsonReq("POST", "/api/sites", `{"name":"journal","title":"Le journal","template":"news","params":{"tagline":"Les nouvelles"}}`), tok)
	r.Header.Set(csrfHeader, csrfToken(tok))
	rec = f.do(r)
	if rec.Code != 201 || f.site("journal") == nil || f.site("journal").Params["tagline"] != "Les nouvelles" {
		t.Fatalf("POST /api/sites: %d %s", rec.Code, rec.Body)
	}
	r = withSession(jsonReq("POST", "/api/sites", `{"name":"journal","title":"Encore","template":"nope"}`), tok)
	r.Header.Set(csrfHeader, csrfToken(tok))
	rec = f.do(r)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"template"`) {
		t.Errorf("POST /api/sites with an unknown template: %d %s", rec.Code, rec.Body)
	}
}

// errorsIn is a page's <strong> messages, for the test's log.
func errorsIn(body string) string {
	var out []string
	for _, part := range strings.Split(body, "<strong>")[1:] {
		if i := strings.Index(part, "</strong>"); i > 0 {
			out = append(out, part[:i])
		}
	}
	return strings.Join(out, " | ")
}

// An admin adds a page, then edits it; the pack keeps its comments;
// settings (title, params) change the same way; a page is deleted.
func TestSitePageEdit(t *testing.T) {
	f := newFixture(t, true)
	f.enableSites()

	rec := f.adminGet("/sites/vitrine/page")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="body"`) {
		t.Fatalf("GET page form: %d\n%.2000s", rec.Code, rec.Body)
	}
	rec = f.adminForm("/sites/vitrine/page", url.Values{"path": {"/horaires"}, "title": {"Horaires"}, "body": {"Ouvert **mardi**.\r\n"}, "action": {"save"}})
	if rec.Code != 303 {
		t.Fatalf("add page: %d\n%.3000s", rec.Code, rec.Body)
	}
	s := f.site("vitrine")
	if len(s.Pages) != 1 || s.Pages[0].Path != "/horaires" || s.Pages[0].Body != "Ouvert **mardi**.\n" {
		t.Fatalf("pages after adding: %+v", s.Pages)
	}
	rec = f.adminForm("/sites/vitrine/page", url.Values{"from": {"/horaires"}, "path": {"/horaires"}, "title": {"Nos horaires"}, "body": {"Ouvert **mercredi**."}, "action": {"save"}})
	if rec.Code != 303 {
		t.Fatalf("edit page: %d\n%.3000s", rec.Code, rec.Body)
	}
	s = f.site("vitrine")
	if len(s.Pages) != 1 || s.Pages[0].Title != "Nos horaires" || !strings.Contains(s.Pages[0].Body, "mercredi") {
		t.Fatalf("pages after editing: %+v", s.Pages)
	}
	if live := f.livePack(); !strings.Contains(live, "# La vitrine : le site principal.") || !strings.Contains(live, "# Le pack du Café") {
		t.Errorf("the page edit lost the pack's comments:\n%s", live)
	}
	rec = f.adminGet("/sites/vitrine")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Nos horaires") {
		t.Errorf("the site's page does not list the page: %d", rec.Code)
	}

	// A bad path comes back beside the field, the text kept.
	rec = f.adminForm("/sites/vitrine/page", url.Values{"path": {"pas un chemin"}, "title": {"X"}, "body": {"Texte gardé"}, "action": {"save"}})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "Texte gardé") || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) {
		t.Errorf("bad path: %d\n%.3000s", rec.Code, rec.Body)
	}
	t.Logf("bad path → %s", errorsIn(rec.Body.String()))

	// Settings: the title and a param of the template.
	rec = f.adminForm("/sites/vitrine", url.Values{"title": {"Le Café d'ANAIS"}, "param.phone": {"04 72 00 00 00"}})
	if rec.Code != 303 {
		t.Fatalf("settings: %d\n%.3000s", rec.Code, rec.Body)
	}
	if s := f.site("vitrine"); s.Title != "Le Café d'ANAIS" || s.Params["phone"] != "04 72 00 00 00" {
		t.Errorf("settings in the pack: %+v", s)
	}

	// Delete: a confirmation, then the page leaves the pack.
	rec = f.adminGet("/sites/vitrine/page/delete?path=/horaires")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `value="/horaires"`) {
		t.Fatalf("delete confirmation: %d\n%.2000s", rec.Code, rec.Body)
	}
	rec = f.adminForm("/sites/vitrine/page/delete", url.Values{"path": {"/horaires"}})
	if rec.Code != 303 || len(f.site("vitrine").Pages) != 0 {
		t.Errorf("delete page: %d, pages %+v", rec.Code, f.site("vitrine").Pages)
	}

	// Removing the site: the confirmation says the uploads are kept aside.
	rec = f.adminGet("/sites/fete-2026/remove")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "var/lib/ruche/removed") {
		t.Errorf("remove confirmation: %d\n%.2000s", rec.Code, rec.Body)
	}
	rec = f.adminForm("/sites/fete-2026/remove", nil)
	if rec.Code != 303 || f.site("fete-2026") != nil {
		t.Errorf("remove site: %d", rec.Code)
	}
}

// The preview renders the Markdown as the site will (the sites' own
// renderer: sanitised) and saves nothing.
func TestSitePreview(t *testing.T) {
	f := newFixture(t, true)
	f.enableSites()
	before := f.livePack()
	md := "## Bienvenue\n\nOuvert **mardi**.\n\n<script>alert(1)</script>\n\n![affiche](/uploads/affiche.png)\n"
	rec := f.adminForm("/sites/vitrine/page", url.Values{"path": {"/accueil"}, "title": {"Accueil"}, "body": {md}, "action": {"preview"}})
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("preview: %d\n%.3000s", rec.Code, body)
	}
	want, err := sites.Markdown(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"<strong>mardi</strong>", `<h2 id="bienvenue">Bienvenue</h2>`, `src="/sites/vitrine/files/affiche.png"`, "Ouvert **mardi**."} {
		if !strings.Contains(body, w) {
			t.Errorf("the preview lacks %q", w)
		}
	}
	if !strings.Contains(strings.ReplaceAll(string(want), `src="/uploads/`, `src="/sites/vitrine/files/`), "<strong>mardi</strong>") || strings.Contains(body, "<script>alert") {
		t.Errorf("the preview is not the sites' sanitised rendering:\n%.3000s", body)
	}
	if f.livePack() != before || len(f.site("vitrine").Pages) != 0 {
		t.Error("the preview saved something")
	}

	tok := f.session("alice")
	r := withSession(jsonReq("POST", "/api/sites/vitrine/preview", `{"body":"Un *essai*"}`), tok)
	r.Header.Set(csrfHeader, csrfToken(tok))
	rec = f.do(r)
	var out struct{ HTML string }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || !strings.Contains(out.HTML, "<em>essai</em>") {
		t.Errorf("API preview: %d %s", rec.Code, rec.Body)
	}
}

// Uploads: pictures and PDFs by their content, 10 MiB at most, names
// cleaned, written readable by the web server; a file removed is moved
// aside under var/lib/ruche/removed/, never deleted.
func TestSiteUploads(t *testing.T) {
	f := newFixture(t, true)
	f.enableSites()
	dir := filepath.Join(f.root, sites.UploadsDir("vitrine"))
	pic := testPNG(t, 16)
	pdf := []byte("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")

	rec := f.adminUpload("/sites/vitrine/uploads", map[string][]byte{"Fête d'été.JPG": pic, "Bulletin.pdf": pdf}, "Fête d'été.JPG", "Bulletin.pdf")
	if rec.Code != 303 {
		t.Fatalf("upload: %d\n%.3000s", rec.Code, rec.Body)
	}
	// A PNG named .JPG is stored as .png: the web server types by extension.
	for name, content := range map[string][]byte{"fete-d-ete.png": pic, "bulletin.pdf": pdf} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, content) {
			t.Errorf("%s: %v, same bytes %v", name, err, bytes.Equal(got, content))
			continue
		}
		info, _ := os.Stat(filepath.Join(dir, name))
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", name, info.Mode().Perm())
		}
	}
	rec = f.adminGet("/sites/vitrine")
	if !strings.Contains(rec.Body.String(), "![ce que montre l&#39;image](/uploads/fete-d-ete.png)") || !strings.Contains(rec.Body.String(), "[bulletin.pdf](/uploads/bulletin.pdf)") {
		t.Errorf("the site's page does not give the Markdown of its files:\n%.5000s", rec.Body)
	}
	rec = f.adminGet("/sites/vitrine/files/fete-d-ete.png")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || !bytes.Equal(rec.Body.Bytes(), pic) {
		t.Errorf("the picture through the panel: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}

	// Refused: by content, whatever the name; by size.
	html := []byte("<html><script>alert(1)</script></html>")
	big := append(testPNG(t, 8), make([]byte, maxUploadBytes)...)
	for _, tc := range []struct {
		name    string
		content []byte
		code    int
		says    string
	}{
		{"photo.jpg", html, 415, "ni une image"},
		{"page.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 415, "ni une image"},
		{"grosse.png", big, 413, "trop gros"},
		{"vide.png", nil, 400, "vide"},
	} {
		rec := f.adminUpload("/sites/vitrine/uploads", map[string][]byte{tc.name: tc.content}, tc.name)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.says) {
			t.Errorf("%s: %d, want %d saying %q\n%.2000s", tc.name, rec.Code, tc.code, tc.says, errorsIn(rec.Body.String()))
		}
		t.Logf("%s (%d bytes) → %d", tc.name, len(tc.content), rec.Code)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 {
		t.Errorf("uploads folder after refusals: %v (no temporary file, nothing refused)", names)
	}

	// Replacing a file keeps the old one aside.
	pic2 := testPNG(t, 20)
	if rec := f.adminUpload("/sites/vitrine/uploads", map[string][]byte{"fete-d-ete.png": pic2}, "fete-d-ete.png"); rec.Code != 303 {
		t.Fatalf("replace: %d", rec.Code)
	}
	// Delete: moved aside, with the same bytes.
	rec = f.adminForm("/sites/vitrine/uploads/delete", url.Values{"file": {"bulletin.pdf"}})
	if rec.Code != 303 {
		t.Fatalf("delete: %d\n%.2000s", rec.Code, rec.Body)
	}
	if _, err := os.Stat(filepath.Join(dir, "bulletin.pdf")); !os.IsNotExist(err) {
		t.Errorf("bulletin.pdf still in the uploads: %v", err)
	}
	_, q, _ := strings.Cut(strings.TrimSuffix(rec.Header().Get("Location"), "#files"), "aside=")
	aside, err := url.QueryUnescape(q)
	if err != nil || !strings.HasPrefix(aside, provision.RemovedDir+"/") {
		t.Fatalf("moved to %q (%v)", aside, err)
	}
	if got, err := os.ReadFile(filepath.Join(f.root, aside)); err != nil || !bytes.Equal(got, pdf) {
		t.Errorf("the removed file is not kept aside at %s: %v", aside, err)
	}
	var kept int
	filepath.WalkDir(filepath.Join(f.root, provision.RemovedDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			kept++
		}
		return nil
	})
	if kept != 2 {
		t.Errorf("%d files under %s, want 2 (the replaced picture and the removed PDF)", kept, provision.RemovedDir)
	}
	// Nothing outside the listed files can be removed.
	for _, name := range []string{"../../../../etc/ruche/pack.yaml", ".upload-x.tmp", "absent.png"} {
		rec := f.adminForm("/sites/vitrine/uploads/delete", url.Values{"file": {name}})
		if rec.Code != 404 {
			t.Errorf("delete %q: %d, want 404", name, rec.Code)
		}
	}
	if _, err := os.Stat(filepath.Join(f.root, provision.PackPath)); err != nil {
		t.Errorf("the pack: %v", err)
	}

	// The API's upload: multipart, the token in its header; a 2 MB
	// picture goes through (no 64 KiB form limit on the way).
	tok := f.session("alice")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", "grande.png")
	w.Write(append(testPNG(t, 8), make([]byte, 2<<20)...))
	mw.Close()
	r := withSession(req("POST", "/api/sites/vitrine/uploads", &body), tok)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set(csrfHeader, csrfToken(tok))
	rec = f.do(r)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"url": "/uploads/grande.png"`) {
		t.Errorf("API upload: %d %.500s", rec.Code, rec.Body)
	}
	rec = f.do(withSession(req("DELETE", "/api/sites/vitrine/uploads?file=grande.png", nil), tok))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), provision.RemovedDir) {
		t.Errorf("API delete: %d %s", rec.Code, rec.Body)
	}

	// The API lists the files with their Markdown.
	rec = f.do(withSession(req("GET", "/api/sites/vitrine/uploads", nil), tok))
	var list struct{ Uploads []upload }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list.Uploads) != 1 || list.Uploads[0].URL != "/uploads/fete-d-ete.png" {
		t.Errorf("API uploads: %d %s", rec.Code, rec.Body)
	}
}

// Figures: how long an upload of a 5 MB picture takes through the
// handler (log only, no timed assertion).
func TestSiteUploadFigures(t *testing.T) {
	f := newFixture(t, true)
	f.enableSites()
	pic := append(testPNG(t, 8), make([]byte, 5<<20)...)
	start := time.Now()
	rec := f.adminUpload("/sites/vitrine/uploads", map[string][]byte{"photo.png": pic}, "photo.png")
	if rec.Code != 303 {
		t.Fatalf("upload: %d", rec.Code)
	}
	t.Logf("%s uploaded in %v", fmt.Sprintf("%.1f MB", float64(len(pic))/1e6), time.Since(start))
}
