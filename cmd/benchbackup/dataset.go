package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// fileSpec is one file of the data set, relative to the box's root.
type fileSpec struct {
	Path   string
	Size   int64
	Binary bool // random bytes (a photo, a PDF): incompressible
	Class  string
}

// class is one kind of file of the data set: its share of the files, the
// range of its sizes and where it lives (backup/contents.go: the wiki's
// data and the sites' uploads are under var/lib/ruche).
type class struct {
	name       string
	share      float64 // of the files; the last class takes what is left
	min, max   int64   // bytes, drawn log-uniform; the photos are scaled to reach the total
	binary     bool    // random bytes
	binaryHalf bool    // every other file binary (documents: PDFs and text)
	dir, ext   string
}

// classes of a box in use: many small wiki pages and their metadata, some
// images in the wiki, documents and MB-sized photos uploaded to the sites.
// The photos come last: their sizes are scaled so that the whole set weighs
// what was asked.
var classes = []class{
	{name: "wiki pages", share: 0.52, min: 300, max: 12 << 10, dir: "var/lib/ruche/wiki/pages", ext: ".txt"},
	{name: "wiki metadata", share: 0.20, min: 100, max: 2 << 10, dir: "var/lib/ruche/wiki/meta", ext: ".meta"},
	{name: "wiki media (images)", share: 0.025, min: 100 << 10, max: 700 << 10, binary: true, dir: "var/lib/ruche/wiki/media", ext: ".jpg"},
	{name: "site documents (PDF, text)", share: 0.235, min: 4 << 10, max: 60 << 10, binaryHalf: true, dir: "uploads/documents", ext: ".pdf"},
	{name: "site photos", share: 0.02, min: 1 << 20, max: 2 << 20, binary: true, dir: "uploads/photos", ext: ".jpg"},
}

// sites are the pack's sites whose uploads folders receive the documents
// and photos (var/lib/ruche/sites/NAME/uploads).
var sites = []string{"vitrine", "atelier"}

// words make the text files: DokuWiki pages and metadata as an association
// writes them (ASCII, so that a file cut to its size stays valid text).
var words = strings.Fields(`association bureau reunion assemblee generale compte rendu tresorerie
adherents cotisation atelier reparation velo cafe jeux soiree benevoles planning salle cle
mardi samedi juin septembre budget subvention mairie quartier fete repas partage graines troc
ordinateur imprimante reseau wiki page photo affiche flyer programme inscription contact
president secretaire tresoriere vote decision projet local loyer assurance facture devis
le la les un une des du de et ou pour avec dans sur par au aux est sont a ont sera nous vous
ils elles on qui que quoi donc car mais puis ensuite aussi tres bien plus moins chaque tout`)

var namespaces = []string{"asso", "bureau", "ateliers", "repair-cafe", "jeux", "compta", "evenements", "benevoles", "archives", "projets", "communication", "local"}

// plan is the data set: files files weighing total bytes in all, drawn
// from seed. The same arguments give the same plan.
func plan(files int, total int64, seed uint64) ([]fileSpec, error) {
	if files < len(classes) {
		return nil, fmt.Errorf("at least %d files", len(classes))
	}
	rng := rand.New(rand.NewPCG(seed, 0x62656e6368))
	counts := classCounts(files)
	var out []fileSpec
	var fixed int64
	for ci, c := range classes {
		for i := 0; i < counts[ci]; i++ {
			size := logUniform(rng, c.min, c.max)
			binary, ext := c.binary || c.binaryHalf, c.ext
			if c.binaryHalf && i%2 == 1 {
				binary, ext = false, ".txt"
			}
			var path string
			ns := namespaces[rng.IntN(len(namespaces))]
			word := words[rng.IntN(len(words))]
			if strings.HasPrefix(c.dir, "uploads/") {
				site := sites[i%len(sites)]
				if c.name == "site photos" {
					ns = fmt.Sprintf("%d", 2019+rng.IntN(7))
				}
				path = fmt.Sprintf("var/lib/ruche/sites/%s/%s/%s/%s-%05d%s", site, c.dir, ns, word, i, ext)
			} else {
				path = fmt.Sprintf("%s/%s/%s-%05d%s", c.dir, ns, word, i, ext)
			}
			out = append(out, fileSpec{Path: path, Size: size, Binary: binary, Class: c.name})
			if ci < len(classes)-1 {
				fixed += size
			}
		}
	}
	// Scale the photos to the total.
	photos := out[len(out)-counts[len(classes)-1]:]
	var drawn int64
	for _, p := range photos {
		drawn += p.Size
	}
	left := total - fixed
	if left < int64(len(photos)) {
		return nil, fmt.Errorf("%d bytes is too little for %d files: the small files alone weigh %d", total, files, fixed)
	}
	var given int64
	for i := range photos {
		if i == len(photos)-1 {
			photos[i].Size = left - given
		} else {
			photos[i].Size = max(1, photos[i].Size*left/drawn)
		}
		given += photos[i].Size
	}
	return out, nil
}

// classCounts splits files among the classes by their shares; the first
// class (wiki pages) takes the rounding, every class has at least one.
func classCounts(files int) []int {
	counts := make([]int, len(classes))
	rest := files
	for i := len(classes) - 1; i > 0; i-- {
		counts[i] = max(1, int(float64(files)*classes[i].share+0.5))
		rest -= counts[i]
	}
	counts[0] = rest
	return counts
}

func logUniform(rng *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	return int64(math.Exp(l + rng.Float64()*(h-l)))
}

// totals sums a plan.
func totals(specs []fileSpec) (files int, bytes, binaryBytes int64) {
	for _, s := range specs {
		files++
		bytes += s.Size
		if s.Binary {
			binaryBytes += s.Size
		}
	}
	return
}

// writeDataset writes every file of specs under root; file i's content
// comes from seed and i alone.
func writeDataset(root string, specs []fileSpec, seed uint64) error {
	buf := make([]byte, 0, 4<<20)
	for i, s := range specs {
		if err := writeFile(filepath.Join(root, s.Path), s, contentSeed(seed, uint64(i), 0), buf); err != nil {
			return err
		}
	}
	return nil
}

func contentSeed(seed, index, version uint64) [32]byte {
	var k [32]byte
	for i, v := range []uint64{seed, index, version, 0x7275636865} {
		for b := range 8 {
			k[i*8+b] = byte(v >> (8 * b))
		}
	}
	return k
}

// writeFile writes one file of exactly s.Size bytes: random bytes for a
// binary file, DokuWiki-like text otherwise.
func writeFile(path string, s fileSpec, key [32]byte, buf []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if s.Binary {
		_, err = io.CopyN(f, rand.NewChaCha8(key), s.Size)
	} else {
		_, err = f.Write(text(rand.New(rand.NewChaCha8(key)), int(s.Size), buf[:0]))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// text is n bytes of a wiki page: a title, paragraphs, lists.
func text(rng *rand.Rand, n int, b []byte) []byte {
	b = append(b, "====== "...)
	b = sentence(rng, b, 3)
	b = append(b, " ======\n\n"...)
	for len(b) < n {
		switch rng.IntN(6) {
		case 0:
			b = append(b, "\n===== "...)
			b = sentence(rng, b, 2+rng.IntN(3))
			b = append(b, " =====\n"...)
		case 1:
			for range 2 + rng.IntN(4) {
				b = append(b, "  * "...)
				b = sentence(rng, b, 3+rng.IntN(8))
				b = append(b, '\n')
			}
		default:
			for range 2 + rng.IntN(4) {
				b = sentence(rng, b, 6+rng.IntN(14))
				b = append(b, ". "...)
			}
			b = append(b, "\n\n"...)
		}
	}
	return b[:n]
}

func sentence(rng *rand.Rand, b []byte, n int) []byte {
	for i := range n {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, words[rng.IntN(len(words))]...)
	}
	return b
}

// changes picks n files to change, in each class in proportion to its
// number of files (so that every round changes a similar mix: mostly
// pages and documents, a couple of photos), drawn from seed.
func changes(specs []fileSpec, n int, seed uint64) []int {
	byClass := map[string][]int{}
	var order []string
	for i, s := range specs {
		if _, ok := byClass[s.Class]; !ok {
			order = append(order, s.Class)
		}
		byClass[s.Class] = append(byClass[s.Class], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6368616e6765))
	var picked []int
	for ci := len(order) - 1; ci >= 0; ci-- {
		idx := byClass[order[ci]]
		k := int(float64(n)*float64(len(idx))/float64(len(specs)) + 0.5)
		if ci == 0 {
			k = n - len(picked)
		}
		k = max(0, min(k, len(idx)))
		for _, j := range rng.Perm(len(idx))[:k] {
			picked = append(picked, idx[j])
		}
	}
	return picked
}

// applyChange changes file i of specs: a binary file is replaced by other
// random bytes of the same size (a new photo under the same name), a text
// file is edited in place (a passage rewritten, a line added at the end),
// as a wiki edit does. It returns the file's new size.
func applyChange(root string, specs []fileSpec, i int, seed, version uint64) (int64, error) {
	s := specs[i]
	path := filepath.Join(root, s.Path)
	key := contentSeed(seed, uint64(i), version)
	if s.Binary {
		return s.Size, writeFile(path, s, key, nil)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewChaCha8(key))
	w := min(len(old)/4, 400)
	at := 0
	if len(old) > w {
		at = rng.IntN(len(old) - w)
	}
	patch := text(rng, w, nil)
	copy(old[at:], patch)
	old = append(old, "\n  * "...)
	old = sentence(rng, old, 8)
	old = append(old, '\n')
	if err := os.WriteFile(path, old, 0o644); err != nil {
		return 0, err
	}
	return int64(len(old)), nil
}
