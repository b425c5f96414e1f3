package panel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// A site's uploads: the pictures and PDFs its pages show, in
// var/lib/ruche/sites/NAME/uploads, served by the site at /uploads/. They
// are the association's data, not the pack's: an upload is no revision;
// backups carry them. The panel writes each file atomically (temporary
// file, fsync, rename), refuses what is not a picture or a PDF by its
// content (a name says nothing), and never deletes one: a file removed or
// replaced is moved under var/lib/ruche/removed/, as the engine does with
// a removed site's uploads.

// Limits of an upload. A phone's photo is 2 to 6 MB; 10 MiB lets a PDF
// brochure through and keeps a page light enough for a phone. The request
// may carry several files; beyond maxUploadRequest the connection is cut.
const (
	maxUploadBytes   = 10 << 20
	maxUploadRequest = 64 << 20
	maxUploadFiles   = 20
	maxListedUploads = 1000
	maxUploadStem    = 80
)

// uploadTypes are the types a site may hold, as http.DetectContentType
// names them from the first bytes, with their extensions (the first is
// given to a file whose name has none of them). SVG is not among them: it
// may carry scripts.
var uploadTypes = map[string][]string{
	"image/jpeg":      {".jpg", ".jpeg"},
	"image/png":       {".png"},
	"image/gif":       {".gif"},
	"image/webp":      {".webp"},
	"application/pdf": {".pdf"},
}

var (
	msgNoUploads      = i18n.M{FR: "les fichiers des sites ne sont pas disponibles sur cette box", EN: "site files are not available on this box"}
	msgUploadNoFile   = i18n.M{FR: "choisissez un fichier à envoyer (champ « file »)", EN: "choose a file to send (field \"file\")"}
	msgUploadForm     = i18n.M{FR: "envoyez les fichiers en multipart/form-data, dans le champ « file »", EN: "send the files as multipart/form-data, in the field \"file\""}
	msgUploadTooBig   = i18n.M{FR: "« %s » est trop gros : %d Mo au plus par fichier. Réduisez la photo (1600 pixels de large suffisent) ou le PDF", EN: "\"%s\" is too large: %d MB at most a file. Shrink the picture (1600 pixels wide is plenty) or the PDF"}
	msgUploadReqBig   = i18n.M{FR: "trop de données d'un coup : %d Mo au plus par envoi ; envoyez les fichiers en plusieurs fois", EN: "too much at once: %d MB at most a sending; send the files in several goes"}
	msgUploadTooMany  = i18n.M{FR: "trop de fichiers d'un coup : %d au plus", EN: "too many files at once: %d at most"}
	msgUploadType     = i18n.M{FR: "« %s » n'est ni une image (JPEG, PNG, GIF, WebP) ni un PDF : le site ne peut pas le montrer", EN: "\"%s\" is neither a picture (JPEG, PNG, GIF, WebP) nor a PDF: the site cannot show it"}
	msgUploadEmpty    = i18n.M{FR: "« %s » est vide", EN: "\"%s\" is empty"}
	msgUploadBroken   = i18n.M{FR: "l'envoi de « %s » a été interrompu ; recommencez", EN: "sending \"%s\" was interrupted; try again"}
	msgNoUpload       = i18n.M{FR: "fichier %q introuvable dans ce site", EN: "file %q not found in this site"}
	msgUploadImageAlt = i18n.M{FR: "ce que montre l'image", EN: "what the picture shows"}
)

// upload is one file of a site's uploads.
type upload struct {
	Name     string    `json:"name"` // relative to the uploads folder: "affiche.pdf", "photos/fete.jpg"
	Size     int64     `json:"size"`
	Bytes    uint64    `json:"-"` // Size, for the pages' bytes
	Modified time.Time `json:"modified"`
	URL      string    `json:"url"`      // on the site: "/uploads/affiche.pdf"
	Markdown string    `json:"markdown"` // what to paste in a page
	Image    bool      `json:"image"`
	// Preview is the picture through the panel, "" for a file the panel
	// does not show (a PDF, a file in a sub-folder).
	Preview string `json:"-"`
}

// uploadsDir is the absolute folder of site's uploads; ok is false when
// the daemon gave no path (the panel then offers no uploads).
func (p *Panel) uploadsDir(site string) (string, bool) {
	if p.opts.SiteUploadsDir == nil || p.opts.Root == "" {
		return "", false
	}
	return filepath.Join(p.opts.Root, filepath.FromSlash(p.opts.SiteUploadsDir(site))), true
}

var imageExt = []string{".jpg", ".jpeg", ".png", ".gif", ".webp"}

// listUploads lists a site's files, by name, sub-folders included (a
// technician may have copied a folder of photos); hidden files (a
// temporary file on its way) are not listed. A site without an uploads
// folder has none.
func (p *Panel) listUploads(lang i18n.Lang, site string) ([]upload, error) {
	dir, ok := p.uploadsDir(site)
	if !ok {
		return nil, nil
	}
	var out []upload
	err := filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			if file == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if file != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(out) >= maxListedUploads {
			return fs.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone since the folder was read
		}
		rel, err := filepath.Rel(dir, file)
		if err != nil {
			return err
		}
		out = append(out, describeUpload(lang, site, filepath.ToSlash(rel), info))
		return nil
	})
	slices.SortFunc(out, func(a, b upload) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

func describeUpload(lang i18n.Lang, site, rel string, info fs.FileInfo) upload {
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := upload{Name: rel, Size: info.Size(), Bytes: uint64(max(info.Size(), 0)), Modified: info.ModTime(), URL: "/uploads/" + strings.Join(segs, "/")}
	u.Image = slices.Contains(imageExt, strings.ToLower(path.Ext(rel)))
	label := strings.NewReplacer("[", `\[`, "]", `\]`).Replace(path.Base(rel))
	if u.Image {
		u.Markdown = "![" + msgUploadImageAlt.In(lang) + "](" + u.URL + ")"
		if len(segs) == 1 {
			u.Preview = "/sites/" + site + "/files/" + segs[0]
		}
	} else {
		u.Markdown = "[" + label + "](" + u.URL + ")"
	}
	return u
}

// ---- Names ----

// transliterations keep a French name readable once limited to
// [a-z0-9._-]: "Fête d'été.JPG" becomes "fete-d-ete.jpg", not "f-te-d-t-.jpg".
var transliterations = map[rune]string{
	'à': "a", 'â': "a", 'ä': "a", 'á': "a", 'ã': "a", 'å': "a",
	'ç': "c", 'é': "e", 'è': "e", 'ê': "e", 'ë': "e",
	'î': "i", 'ï': "i", 'í': "i", 'ì': "i", 'ñ': "n",
	'ô': "o", 'ö': "o", 'ó': "o", 'ò': "o", 'õ': "o", 'ø': "o",
	'û': "u", 'ü': "u", 'ú': "u", 'ù': "u", 'ÿ': "y", 'ý': "y",
	'œ': "oe", 'æ': "ae", 'ß': "ss",
}

var (
	reDashes = regexp.MustCompile(`-{2,}`)
	reDots   = regexp.MustCompile(`\.{2,}`)
)

// cleanUploadName is the name a file is stored under: the browser's name
// without its folders, lower case, accents dropped, anything but
// [a-z0-9._-] made a dash, never hidden, and with an extension of its
// sniffed type (a PNG named photo.jpg becomes photo.png: the site's
// server names the type by the extension).
func cleanUploadName(name string, exts []string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	stem, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		stem, ext = name[:i], strings.ToLower(name[i:])
	}
	if !slices.Contains(exts, ext) {
		if !knownExt(ext) {
			stem = name // "compte.rendu" keeps its dot
		}
		ext = exts[0]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(stem) {
		if t, ok := transliterations[r]; ok {
			b.WriteString(t)
			continue
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := reDots.ReplaceAllString(reDashes.ReplaceAllString(b.String(), "-"), ".")
	s = strings.Trim(s, "-._")
	if len(s) > maxUploadStem {
		s = strings.TrimRight(s[:maxUploadStem], "-._")
	}
	if s == "" {
		s = "file"
	}
	return s + ext
}

func knownExt(ext string) bool {
	for _, exts := range uploadTypes {
		if slices.Contains(exts, ext) {
			return true
		}
	}
	return false
}

// ---- Writing ----

// uploadError is why a file was refused, with its HTTP status.
type uploadError struct {
	code int
	msg  string
}

func (e *uploadError) Error() string { return e.msg }

// readFailed turns a failed read of the request into what the admin
// reads: too much at once, or a sending cut short.
func readFailed(lang i18n.Lang, name string, err error) *uploadError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &uploadError{http.StatusRequestEntityTooLarge, msgUploadReqBig.Sprintf(lang, maxUploadRequest>>20)}
	}
	return &uploadError{http.StatusBadRequest, msgUploadBroken.Sprintf(lang, name)}
}

// saveUploads stores every "file" part of mr in site's uploads, in order,
// and stops at the first file refused: the files before it are saved.
func (p *Panel) saveUploads(c *call, site string, mr *multipart.Reader) ([]upload, *uploadError) {
	var saved []upload
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return saved, readFailed(c.lang, "", err)
		}
		if part.FormName() != "file" || part.FileName() == "" {
			part.Close()
			continue
		}
		if len(saved) == maxUploadFiles {
			return saved, &uploadError{http.StatusBadRequest, msgUploadTooMany.Sprintf(c.lang, maxUploadFiles)}
		}
		u, uerr := p.saveUpload(c, site, part.FileName(), part)
		part.Close()
		if uerr != nil {
			return saved, uerr
		}
		saved = append(saved, u)
	}
	if len(saved) == 0 {
		return nil, &uploadError{http.StatusBadRequest, msgUploadNoFile.In(c.lang)}
	}
	return saved, nil
}

// saveUpload writes one file: its type sniffed from its first bytes, its
// size bounded while it streams to a temporary file beside its final
// name, then fsync and rename. A file of the same name is moved aside
// first, never overwritten.
func (p *Panel) saveUpload(c *call, site, name string, r io.Reader) (upload, *uploadError) {
	dir, ok := p.uploadsDir(site)
	if !ok {
		return upload{}, &uploadError{http.StatusServiceUnavailable, msgNoUploads.In(c.lang)}
	}
	shown := name[strings.LastIndexAny(name, `/\`)+1:]
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return upload{}, readFailed(c.lang, shown, err)
	}
	if n == 0 {
		return upload{}, &uploadError{http.StatusBadRequest, msgUploadEmpty.Sprintf(c.lang, shown)}
	}
	ctype, _, _ := mime.ParseMediaType(http.DetectContentType(head[:n]))
	exts, ok := uploadTypes[ctype]
	if !ok {
		p.log.Info("upload refused", "site", site, "name", shown, "type", ctype)
		return upload{}, &uploadError{http.StatusUnsupportedMediaType, msgUploadType.Sprintf(c.lang, shown)}
	}
	final := cleanUploadName(name, exts)

	// Folders as the engine makes them: readable by the web server,
	// which runs in this process.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return upload{}, p.uploadInternal("mkdir", site, err)
	}
	tmp, err := os.CreateTemp(dir, ".upload-*.tmp")
	if err != nil {
		return upload{}, p.uploadInternal("create", site, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(head[:n]); err != nil {
		return upload{}, p.uploadInternal("write", site, err)
	}
	copied, err := io.Copy(tmp, io.LimitReader(r, maxUploadBytes-int64(n)+1))
	switch {
	case err != nil:
		var werr *fs.PathError
		if errors.As(err, &werr) {
			return upload{}, p.uploadInternal("write", site, err)
		}
		return upload{}, readFailed(c.lang, shown, err)
	case int64(n)+copied > maxUploadBytes:
		p.log.Info("upload refused: too large", "site", site, "name", shown)
		return upload{}, &uploadError{http.StatusRequestEntityTooLarge, msgUploadTooBig.Sprintf(c.lang, shown, maxUploadBytes>>20)}
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes 0600
		return upload{}, p.uploadInternal("chmod", site, err)
	}
	if err := tmp.Sync(); err != nil {
		return upload{}, p.uploadInternal("fsync", site, err)
	}
	if err := tmp.Close(); err != nil {
		return upload{}, p.uploadInternal("close", site, err)
	}
	target := filepath.Join(dir, final)
	if _, err := os.Lstat(target); err == nil {
		// Replacing a picture keeps the pages' links; the old one is
		// kept aside.
		if _, err := p.moveUploadAside(site, final, true); err != nil {
			return upload{}, p.uploadInternal("keep the previous file", site, err)
		}
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return upload{}, p.uploadInternal("rename", site, err)
	}
	done = true
	if err := syncFolder(dir); err != nil {
		return upload{}, p.uploadInternal("fsync", site, err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return upload{}, p.uploadInternal("stat", site, err)
	}
	p.log.Info("upload saved", "site", site, "name", final, "type", ctype, "bytes", info.Size(), "login", c.currentUser().Login)
	return describeUpload(c.lang, site, final, info), nil
}

func (p *Panel) uploadInternal(step, site string, err error) *uploadError {
	p.log.Error("upload: "+step, "site", site, "err", err)
	return &uploadError{http.StatusInternalServerError, ""}
}

// moveUploadAside moves (or, keep: copies by a hard link, for a file about
// to be replaced) file rel of site's uploads to
// var/lib/ruche/removed/<time>-upload-<site>/var/lib/ruche/sites/<site>/uploads/<rel>,
// the engine's layout for what users made. It returns where, relative to
// the root.
func (p *Panel) moveUploadAside(site, rel string, keep bool) (string, error) {
	dir, ok := p.uploadsDir(site)
	if !ok {
		return "", errors.New("no uploads folder")
	}
	under := p.opts.SiteUploadsDir(site) + "/" + rel
	stamp := p.now().UTC().Format("20060102T150405Z") + "-upload-" + site
	var dst string
	for i := 1; ; i++ {
		label := stamp
		if i > 1 {
			label += fmt.Sprintf("-%d", i)
		}
		dst = path.Join(provision.RemovedDir, label, under)
		if _, err := os.Lstat(filepath.Join(p.opts.Root, dst)); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if i == 100 {
			return "", fmt.Errorf("no free name under %s", provision.RemovedDir)
		}
	}
	src, abs := filepath.Join(dir, filepath.FromSlash(rel)), filepath.Join(p.opts.Root, filepath.FromSlash(dst))
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return "", err
	}
	move := os.Rename
	if keep {
		move = os.Link
	}
	if err := move(src, abs); err != nil {
		if !keep {
			return "", err
		}
		// No hard link on this filesystem: move it; the new file takes
		// its place a moment later.
		if err := os.Rename(src, abs); err != nil {
			return "", err
		}
	}
	if err := syncFolder(filepath.Dir(abs)); err != nil {
		return "", err
	}
	if !keep {
		if err := syncFolder(filepath.Dir(src)); err != nil {
			return "", err
		}
	}
	p.log.Warn("upload moved aside", "site", site, "from", rel, "to", dst, "kept", keep)
	return dst, nil
}

// syncFolder makes a rename in dir durable.
func syncFolder(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// removeUpload moves a listed file aside. Only a name the list shows may
// be moved: nothing outside the uploads folder, no hidden file, no link.
func (p *Panel) removeUpload(lang i18n.Lang, site, rel string) (string, *uploadError) {
	list, err := p.listUploads(lang, site)
	if err != nil {
		return "", p.uploadInternal("list", site, err)
	}
	if _, ok := p.uploadsDir(site); !ok {
		return "", &uploadError{http.StatusServiceUnavailable, msgNoUploads.In(lang)}
	}
	if !slices.ContainsFunc(list, func(u upload) bool { return u.Name == rel }) {
		return "", &uploadError{http.StatusNotFound, msgNoUpload.Sprintf(lang, rel)}
	}
	dst, err := p.moveUploadAside(site, rel, false)
	if err != nil {
		return "", p.uploadInternal("move aside", site, err)
	}
	return dst, nil
}

// ---- Multipart requests ----

// multipartKey is where uploadTokenOK leaves the form's reader for the
// handler: the body is a stream, read once.
type multipartKey struct{}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// uploadTokenOK checks the CSRF token of an upload form (route.upload):
// the form's first field, read before any file, so that the files stream
// to disk in the handler, a file too large is told as such, and nothing
// is held in memory whole (http.Request.ParseMultipartForm would keep up
// to 32 MB).
func (c *call) uploadTokenOK() bool {
	u := c.currentUser()
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxUploadRequest)
	mr, err := c.r.MultipartReader()
	if err != nil || u == nil {
		return false
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != csrfField {
		return false
	}
	sent, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil || !sameToken(string(sent), u.csrf) {
		return false
	}
	c.r = c.r.WithContext(context.WithValue(c.r.Context(), multipartKey{}, mr))
	return true
}

// multipartOf is the request's multipart reader: the one uploadTokenOK
// started, or a new one (the API, whose token is a header).
func multipartOf(c *call) (*multipart.Reader, bool) {
	if mr, ok := c.r.Context().Value(multipartKey{}).(*multipart.Reader); ok {
		return mr, true
	}
	if !isMultipart(c.r) {
		return nil, false
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxUploadRequest)
	mr, err := c.r.MultipartReader()
	return mr, err == nil
}

// drain reads what is left of a refused upload (within maxUploadRequest)
// so that the browser, still sending, receives the answer that says why
// instead of a connection reset.
func drain(c *call) {
	io.Copy(io.Discard, c.r.Body)
}

// ---- Handlers ----

// uploadForm is POST /sites/{site}/uploads: the files of the upload form.
func (p *Panel) uploadForm(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	mr, ok := multipartOf(c)
	if !ok {
		p.showSite(c, s, http.StatusBadRequest, sitePageData{Title: s.Title, Params: s.Params, msg: msgUploadForm.In(c.lang)})
		return
	}
	saved, uerr := p.saveUploads(c, s.Name, mr)
	var names []string
	for _, u := range saved {
		names = append(names, u.Name)
	}
	if uerr != nil {
		drain(c)
		msg := uerr.msg
		if msg == "" {
			msg = msgInternal.In(c.lang)
		}
		p.showSite(c, s, uerr.code, sitePageData{Title: s.Title, Params: s.Params, Uploaded: names, msg: msg})
		return
	}
	c.redirect("/sites/" + s.Name + "?uploaded=" + url.QueryEscape(strings.Join(names, ",")) + "#files")
}

// uploadFile is GET /sites/{site}/files/{file}: a picture of the site's
// uploads, for the panel's own pages (the preview, the list of files),
// whose Content-Security-Policy allows only the panel's images. Only
// pictures, by their content, are served, from the uploads folder itself
// (os.Root: no link leads out of it).
func (p *Panel) uploadFile(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	name := c.param("file")
	dir, ok := p.uploadsDir(s.Name)
	if !ok || strings.HasPrefix(name, ".") || !slices.Contains(imageExt, strings.ToLower(path.Ext(name))) {
		c.fail(http.StatusNotFound, msgNoUpload, name)
		return
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		c.fail(http.StatusNotFound, msgNoUpload, name)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		c.fail(http.StatusNotFound, msgNoUpload, name)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	ctype := http.DetectContentType(head[:n])
	if err != nil || !info.Mode().IsRegular() || !strings.HasPrefix(ctype, "image/") || uploadTypes[ctype] == nil {
		c.fail(http.StatusNotFound, msgNoUpload, name)
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	c.w.Header().Set("Content-Type", ctype)
	http.ServeContent(c.w, c.r, "", info.ModTime(), f)
}

// siteConfirm is a page that asks before doing something that cannot be
// undone from the panel.
type siteConfirm struct {
	Question string
	Note     string
	Action   string
	Fields   map[string]string
	Button   string
	Cancel   string
}

// removeUploadPage is GET /sites/{site}/uploads/delete?file=NAME: the
// confirmation.
func (p *Panel) removeUploadPage(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	file := c.r.URL.Query().Get("file")
	list, err := p.listUploads(c.lang, s.Name)
	if err != nil || !slices.ContainsFunc(list, func(u upload) bool { return u.Name == file }) {
		c.fail(http.StatusNotFound, msgNoUpload, file)
		return
	}
	c.page(http.StatusOK, "site_confirm", text(c.lang, "upload.delete.title", file), "sites", siteConfirm{
		Question: text(c.lang, "upload.delete.question", file, s.Title),
		Note:     text(c.lang, "upload.delete.note"),
		Action:   "/sites/" + s.Name + "/uploads/delete",
		Fields:   map[string]string{"file": file},
		Button:   text(c.lang, "upload.delete.button"),
		Cancel:   "/sites/" + s.Name + "#files",
	})
}

// removeUploadForm is POST /sites/{site}/uploads/delete: the file moves
// aside.
func (p *Panel) removeUploadForm(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	dst, uerr := p.removeUpload(c.lang, s.Name, c.r.PostFormValue("file"))
	if uerr != nil {
		msg := uerr.msg
		if msg == "" {
			msg = msgInternal.In(c.lang)
		}
		p.showSite(c, s, uerr.code, sitePageData{Title: s.Title, Params: s.Params, msg: msg})
		return
	}
	c.redirect("/sites/" + s.Name + "?aside=" + url.QueryEscape(dst) + "#files")
}

// apiUploads is GET /api/sites/{site}/uploads.
func (p *Panel) apiUploads(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	list, err := p.listUploads(c.lang, s.Name)
	if err != nil {
		p.log.Error("sites: list uploads", "site", s.Name, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	if list == nil {
		list = []upload{}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"uploads": list})
}

// apiUpload is POST /api/sites/{site}/uploads: multipart/form-data, one
// or more files in the field "file" → 201 with what was saved.
func (p *Panel) apiUpload(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	mr, ok := multipartOf(c)
	if !ok {
		c.fail(http.StatusUnsupportedMediaType, msgUploadForm)
		return
	}
	saved, uerr := p.saveUploads(c, s.Name, mr)
	if uerr != nil {
		drain(c)
		if uerr.msg == "" {
			c.fail(uerr.code, msgInternal)
			return
		}
		c.jsonError(uerr.code, uerr.msg)
		return
	}
	writeJSON(c.w, http.StatusCreated, map[string]any{"uploads": saved})
}

// apiRemoveUpload is DELETE /api/sites/{site}/uploads?file=NAME: the file
// moves aside → 200 with where.
func (p *Panel) apiRemoveUpload(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	dst, uerr := p.removeUpload(c.lang, s.Name, c.r.URL.Query().Get("file"))
	if uerr != nil {
		if uerr.msg == "" {
			c.fail(uerr.code, msgInternal)
			return
		}
		c.jsonError(uerr.code, uerr.msg)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]string{"moved_to": dst})
}
