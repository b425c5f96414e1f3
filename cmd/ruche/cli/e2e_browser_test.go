package cli_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The panel as a person sees it: Debian's Chromium, headless, driven over
// the DevTools protocol by chromedp. The helpers here start one browser
// for a test, give each person an incognito-like browser context (their
// own cookies), and take the screenshots that docs/screenshots/ keeps.

// chromiumPath is Debian's chromium (make test-deps installs it).
const chromiumPath = "/usr/bin/chromium"

// screenshotsEnv names the folder the screenshots go to, for the
// documentation; relative to the repository's root. Without it they go to
// a temporary folder, so a plain test run changes no file of the tree.
const screenshotsEnv = "RUCHE_SCREENSHOTS"

// Desktop and phone viewports: 1280 is a common laptop width; 390×844 is a
// recent phone's CSS viewport.
const (
	desktopWidth, desktopHeight = 1280, 800
	phoneWidth, phoneHeight     = 390, 844
)

// browser is one headless Chromium for a whole test.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu     sync.Mutex
	nshots int
}

// needChromium skips the test without Chromium, except under CI where a
// missing component is a failure (DESIGN, "How it is tested").
func needChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("RUCHE_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s (make test-deps installs Debian's chromium): %v", path, err)
		}
		t.Skipf("no Chromium at %s: %v", path, err)
	}
	return path
}

// startBrowser starts Chromium for the test; it stops when the test ends.
// The flags keep it off the network: the machine has none, and a refused
// connection per background feature would slow every page.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	path := needChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // runs as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		// The association is French: its members' browsers ask for French.
		chromedp.Flag("accept-lang", "fr-FR,fr"),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Logf("chromium ready in %v", time.Since(start).Round(time.Millisecond))

	b := &browser{t: t, ctx: ctx, shots: t.TempDir()}
	if dir := os.Getenv(screenshotsEnv); dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join("..", "..", "..", dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// A renamed or removed step must not leave its old picture.
		old, _ := filepath.Glob(filepath.Join(dir, "[0-9][0-9]-*.png"))
		for _, f := range old {
			os.Remove(f)
		}
		b.shots = dir
	}
	return b
}

// person is someone at their own browser: a browser context of their own
// (cookies, language) and one tab.
type person struct {
	t    *testing.T
	name string
	b    *browser
	ctx  context.Context
	base string

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	// refused are the pages the test expected an error status from: the
	// browser logs "Failed to load resource" for them, rightly.
	refused map[string]bool
}

// person opens a tab in a new browser context for name, on the panel at
// base; the console of the tab is recorded from the start.
func (b *browser) person(name, base string) *person {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopWidth, desktopHeight)); err != nil {
		b.t.Fatalf("%s's tab: %v", name, err)
	}
	p := &person{t: b.t, name: name, b: b, ctx: ctx, base: base, refused: map[string]bool{}}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	return p
}

// step bounds one browser action: a page that never loads fails the test
// rather than hanging it.
func (p *person) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, 20*time.Second)
}

// do runs actions that return nothing.
func (p *person) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// open loads path (or a full URL) and checks the page's status.
func (p *person) open(path string, wantStatus int) {
	p.t.Helper()
	url := path
	if strings.HasPrefix(path, "/") {
		url = p.base + path
	}
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		p.t.Fatalf("%s opens %s: %v", p.name, path, err)
	}
	if int(resp.Status) != wantStatus {
		p.t.Fatalf("%s opens %s: status %d, want %d", p.name, path, resp.Status, wantStatus)
	}
	p.expect(resp.URL, wantStatus)
}

// submit clicks the button sel and waits for the page the form leads to
// (after the server's redirect), which must answer wantStatus.
func (p *person) submit(sel string, wantStatus int) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.t.Fatalf("%s clicks %s: %v", p.name, sel, err)
	}
	if int(resp.Status) != wantStatus {
		p.t.Fatalf("%s clicks %s: status %d at %s, want %d", p.name, sel, resp.Status, resp.URL, wantStatus)
	}
	p.expect(resp.URL, wantStatus)
}

// expect notes a page whose error status the test asked for.
func (p *person) expect(url string, status int) {
	if status >= 400 {
		p.mu.Lock()
		p.refused[url] = true
		p.mu.Unlock()
	}
}

// typeIn types text into the field sel, as a person at a keyboard would.
func (p *person) typeIn(sel, text string) {
	p.t.Helper()
	p.do("types in "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// choose picks value in the <select> sel.
func (p *person) choose(sel, value string) {
	p.t.Helper()
	p.do("chooses "+value+" in "+sel, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible))
}

// text is the visible text of the first element sel.
func (p *person) text(sel string) string {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.t.Fatalf("%s reads %s: %v", p.name, sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *person, expr string) T {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, expr, err)
	}
	return v
}

// path is the path of the page the person is on.
func (p *person) path() string {
	return eval[string](p, "location.pathname + location.search")
}

// sees checks that the element sel shows each of wants.
func (p *person) sees(sel string, wants ...string) {
	p.t.Helper()
	got := p.text(sel)
	for _, w := range wants {
		if !strings.Contains(got, w) {
			p.t.Errorf("%s at %s: %s shows no %q:\n%s", p.name, p.path(), sel, w, got)
		}
	}
}

// heading checks the page's <h1> and the <html lang>.
func (p *person) heading(lang, h1 string) {
	p.t.Helper()
	if got := eval[string](p, "document.documentElement.lang"); got != lang {
		p.t.Errorf("%s at %s: <html lang=%q>, want %q", p.name, p.path(), got, lang)
	}
	if got := p.text("h1"); got != h1 {
		p.t.Errorf("%s at %s: <h1> %q, want %q", p.name, p.path(), got, h1)
	}
}

// shot saves a full-page PNG of what the person sees as NN-name.png.
func (p *person) shot(name string) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("%s: screenshot %s: %v", p.name, name, err)
	}
	p.b.mu.Lock()
	p.b.nshots++
	file := filepath.Join(p.b.shots, fmt.Sprintf("%02d-%s.png", p.b.nshots, name))
	p.b.mu.Unlock()
	if err := writeAtomic(file, png); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s (%d KB)", filepath.Base(file), len(png)/1024)
}

// phoneFit is how a page sits in the viewport's width.
type phoneFit struct {
	Scroll int    `json:"scroll"` // the page's width, scrolled
	Width  int    `json:"width"`  // the screen's (the layout viewport's)
	Right  int    `json:"right"`  // the right edge of the widest element
	Wide   string `json:"wide"`   // the first element that sticks out
}

// fits reports whether nothing is wider than the screen.
func (f phoneFit) fits() bool { return f.Scroll <= f.Width && f.Right <= f.Width }

// fit measures the page as it is laid out now. The width is the root
// element's client width: a mobile browser zooms out on a page wider than
// the phone, and then innerWidth grows with it. Elements are measured too:
// the page's scroll width alone missed a block wider than the screen. A
// table in its .scroll box or a revision's diff scrolls sideways inside a
// box that fits, which is allowed: what such a box clips is not measured,
// the box itself is.
func (p *person) fit() phoneFit {
	p.t.Helper()
	return eval[phoneFit](p, `(() => {
		const width = document.documentElement.clientWidth;
		const clipped = el => {
			for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
				if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(a).overflowX)) return true;
			}
			return false;
		};
		let right = 0, wide = "";
		for (const el of document.querySelectorAll("body *")) {
			if (clipped(el)) continue;
			const r = Math.ceil(el.getBoundingClientRect().right + window.scrollX);
			right = Math.max(right, r);
			if (!wide && r > width) {
				wide = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : "") + " (" + r + " px)";
			}
		}
		return {scroll: document.scrollingElement.scrollWidth, width: width, right: right, wide: wide};
	})()`)
}

// phone switches the tab to a phone's viewport, or back to the desktop's.
func (p *person) phone(on bool) {
	p.t.Helper()
	if on {
		p.do("phone viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile))
		return
	}
	p.do("desktop viewport", chromedp.EmulateViewport(desktopWidth, desktopHeight))
}

// onPhone checks the page at a phone's width: nothing wider than the
// screen (no sideways scrolling); with shot, it is saved as a picture.
// The desktop viewport comes back after.
func (p *person) onPhone(shot string) {
	p.t.Helper()
	p.phone(true)
	defer p.phone(false)
	f := p.fit()
	if f.Width != phoneWidth {
		p.t.Errorf("%s at %s: the phone's screen is %d px wide, want %d", p.name, p.path(), f.Width, phoneWidth)
	}
	if !f.fits() {
		p.t.Errorf("%s at %s, phone width: the page is wider than the screen (%+v)", p.name, p.path(), f)
	}
	if shot != "" {
		p.shot(shot)
	}
}

// cspViolations are the console messages about the Content Security
// Policy, and the exceptions, seen so far.
func (p *person) cspViolations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var bad []string
	for _, m := range p.console {
		if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") {
			bad = append(bad, m.String()+" ("+m.URL+")")
		}
	}
	return bad
}

// consoleErrors are the error messages of the console seen so far, but
// for the error pages the test asked for and the browser's own request of
// /favicon.ico, which the panel does not serve (a 404 that nobody sees).
func (p *person) consoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var bad []string
	for _, m := range p.console {
		if strings.HasPrefix(m.Text, "Failed to load resource") && (p.refused[m.URL] || strings.HasSuffix(m.URL, "/favicon.ico")) {
			continue
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			bad = append(bad, m.String()+" ("+m.URL+")")
		}
	}
	return bad
}

// cleanConsole fails the test if the person's console showed a CSP
// violation or any other error.
func (p *person) cleanConsole() {
	p.t.Helper()
	for _, m := range p.consoleErrors() {
		p.t.Errorf("%s's console: %s", p.name, m)
	}
	for _, m := range p.cspViolations() {
		if !slices.Contains(p.consoleErrors(), m) {
			p.t.Errorf("%s's console: %s", p.name, m)
		}
	}
}

// writeAtomic writes data to file through a temporary file, synced and
// renamed: a reader never sees half a picture.
func writeAtomic(file string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		os.Remove(f.Name())
		return errors.Join(fmt.Errorf("writing %s", file), err)
	}
	return nil
}
