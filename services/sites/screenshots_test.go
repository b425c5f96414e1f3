package sites

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// screenshots is where TestScreenshots writes its pictures; empty skips
// it. docs/sites.md says how to run it.
var screenshots = flag.String("screenshots", "", "write screenshots of each template, rendered from testdata/pack.yaml by headless Chromium, into this folder")

// TestScreenshots renders the French test pack, serves each site on its
// own loopback server (pages use absolute paths, as on the box) with
// stand-in pictures for its uploads, and has Debian's Chromium take a
// desktop and a phone screenshot of a page of each template. When pngquant
// is installed, the PNGs are quantised to keep the repository small.
func TestScreenshots(t *testing.T) {
	if *screenshots == "" {
		t.Skip("run with -screenshots DIR (go test ./services/sites -run TestScreenshots -screenshots ../../docs/screenshots)")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (apt-get install chromium):", err)
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	files := siteFiles(render(t, loadPack(t, "testdata/pack.yaml")))
	shots := []struct{ name, site, page string }{
		{"showcase", "vitrine", "/"},
		{"event", "fete-2026", "/"},
		{"news-index", "journal", "/"},
		{"news-post", "journal", "/2026/repair-cafe"},
	}
	sizes := []struct{ name, window string }{
		{"desktop", "1280,900"},
		{"phone", "390,844"},
	}
	for _, shot := range shots {
		srv := httptest.NewServer(siteHandler(files, shot.site))
		for _, size := range sizes {
			out, err := filepath.Abs(filepath.Join(*screenshots, shot.name+"-"+size.name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			profile := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			cmd := exec.CommandContext(ctx, chromium,
				"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--hide-scrollbars", "--force-device-scale-factor=1", "--force-color-profile=srgb",
				"--user-data-dir="+profile, "--screenshot="+out, "--window-size="+size.window,
				srv.URL+shot.page)
			output, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("chromium %s: %v\n%s", out, err, output)
			}
			if pngquant, err := exec.LookPath("pngquant"); err == nil {
				if output, err := exec.Command(pngquant, "--force", "--skip-if-larger", "--strip", "--quality=70-95", "--output", out, out).CombinedOutput(); err != nil && !strings.Contains(err.Error(), "exit status 98") && !strings.Contains(err.Error(), "exit status 99") {
					t.Errorf("pngquant %s: %v\n%s", out, err, output)
				}
			}
			info, err := os.Stat(out)
			if err != nil {
				t.Fatalf("no screenshot %s: %v\n%s", out, err, output)
			}
			t.Logf("%s: %d KB", out, info.Size()/1024)
		}
		srv.Close()
	}
}

// siteHandler serves one site's rendered files as the box does: /path/
// and /path from path/index.html, the 404 page for anything missing,
// and for /uploads/ a generated picture.
func siteHandler(files map[string][]byte, site string) http.Handler {
	picture := standInPicture()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.Trim(path.Clean(r.URL.Path), "/")
		if strings.HasPrefix(p, "uploads/") && strings.HasSuffix(p, ".jpg") {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(picture)
			return
		}
		for _, candidate := range []string{p, path.Join(p, "index.html")} {
			if content, ok := files[site+"/"+candidate]; ok && candidate != "" {
				if strings.HasSuffix(candidate, ".html") {
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
				}
				w.Write(content)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write(files[site+"/"+NotFoundFile])
	})
}

// standInPicture is a photograph-like JPEG (a warm evening gradient with
// soft lights) standing in for an association's uploads, so that the
// screenshots show how pictures sit in a page without shipping a photo.
func standInPicture() []byte {
	const w, h = 960, 540
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	lights := []struct{ x, y, r float64 }{{180, 200, 90}, {420, 140, 60}, {700, 230, 110}, {860, 120, 50}, {300, 380, 70}}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			f := float64(y) / h
			r, g, b := 240-110*f, 170-90*f, 90+40*f
			for _, l := range lights {
				d := math.Hypot(float64(x)-l.x, float64(y)-l.y) / l.r
				if d < 1 {
					glow := (1 - d*d) * 0.5
					r, g, b = r+(255-r)*glow, g+(236-g)*glow, b+(200-b)*glow
				}
			}
			img.Set(x, y, color.RGBA{uint8(r), uint8(g), uint8(b), 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}
