// Package imghash computes perceptual signatures of images (GIF, PNG, JPEG)
// so that a known spam image still matches after it is re-encoded, resized or
// slightly recoloured: the difference hash (dHash) of a 9×8 grey thumbnail,
// 64 bits, compared by Hamming distance.
//
// Decoding is bounded: images larger than MaxPixels are refused before their
// pixels are read, and tiny or flat images (spacers, tracking pixels) give no
// signature because every such image looks alike.
package imghash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/bits"
	"slices"
)

// Hash is a 64-bit perceptual hash.
type Hash uint64

// Limits on what is decoded.
const (
	MaxPixels = 4 << 20
	minSide   = 16
	maxBytes  = 8 << 20
)

// Errors.
var (
	ErrUnsupported = errors.New("imghash: unsupported or broken image")
	ErrTooLarge    = errors.New("imghash: image too large")
	ErrFlat        = errors.New("imghash: image too small or flat to sign")
)

// Decode decodes a GIF, PNG or JPEG image within the limits: larger than
// MaxPixels (or 8 MiB encoded) is ErrTooLarge, read from the header before
// any pixel; smaller than 16 pixels a side is ErrFlat. The decoders are
// called directly, not through image.RegisterFormat, so nothing global is
// touched.
func Decode(b []byte) (image.Image, error) {
	if len(b) > maxBytes {
		return nil, ErrTooLarge
	}
	var cfg image.Config
	var dec func([]byte) (image.Image, error)
	var err error
	switch {
	case bytes.HasPrefix(b, []byte("GIF8")):
		cfg, err = gif.DecodeConfig(bytes.NewReader(b))
		dec = func(b []byte) (image.Image, error) { return gif.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(b, []byte("\x89PNG")):
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
		dec = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
		dec = func(b []byte) (image.Image, error) {
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil && !bytes.HasSuffix(b, []byte("\xff\xd9")) {
				// A JPEG cut short (common in spam and in old mail
				// archives): pad the entropy-coded data with zero bits
				// (flat blocks) and close it, so the rows that arrived
				// still count.
				pad := io.LimitReader(zeros{}, int64(cfg.Width*cfg.Height/2+4096))
				img, err = jpeg.Decode(io.MultiReader(bytes.NewReader(b), pad, bytes.NewReader([]byte("\xff\xd9"))))
			}
			return img, err
		}
	default:
		return nil, ErrUnsupported
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d", ErrTooLarge, cfg.Width, cfg.Height)
	}
	if cfg.Width < minSide || cfg.Height < minSide {
		return nil, ErrFlat
	}
	img, err := dec(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return img, nil
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Of returns the hash of an encoded image.
func Of(b []byte) (Hash, error) {
	img, err := Decode(b)
	if err != nil {
		return 0, err
	}
	return OfImage(img)
}

// tieMargin is how much brighter (of 255) a cell must be than its right
// neighbour to set its bit.
const tieMargin = 2

// OfImage returns the dHash of a decoded image: each of 8 rows of a 9×8 grey
// thumbnail gives 8 bits, set where a cell is brighter than its right
// neighbour by more than tieMargin.
func OfImage(img image.Image) (Hash, error) {
	const w, h = 9, 8
	var cells [h][w]float64
	r := img.Bounds()
	dx, dy := r.Dx(), r.Dy()
	if dx < minSide || dy < minSide {
		return 0, ErrFlat
	}
	// Average up to 8×8 sample points per cell: enough for a box filter,
	// and bounded work for any image size.
	lo, hi := 1e9, -1e9
	for cy := 0; cy < h; cy++ {
		y0, y1 := r.Min.Y+cy*dy/h, r.Min.Y+(cy+1)*dy/h
		for cx := 0; cx < w; cx++ {
			x0, x1 := r.Min.X+cx*dx/w, r.Min.X+(cx+1)*dx/w
			sy, sx := max(1, (y1-y0)/8), max(1, (x1-x0)/8)
			var sum float64
			n := 0
			for y := y0; y < y1; y += sy {
				for x := x0; x < x1; x += sx {
					sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
					n++
				}
			}
			v := sum / float64(max(n, 1))
			cells[cy][cx] = v
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi-lo < 8 {
		return 0, ErrFlat
	}
	var hash Hash
	for y := 0; y < h; y++ {
		for x := 0; x < w-1; x++ {
			hash <<= 1
			// The margin keeps flat neighbours at 0 whatever the
			// re-encoding noise, instead of flipping on every copy.
			if cells[y][x] > cells[y][x+1]+tieMargin {
				hash |= 1
			}
		}
	}
	return hash, nil
}

// Distance is the number of differing bits.
func Distance(a, b Hash) int { return bits.OnesCount64(uint64(a ^ b)) }

// MaxDistance is the largest Hamming distance still taken as the same image.
const MaxDistance = 6

// Index is a set of known hashes.
type Index struct {
	hashes []Hash
}

// NewIndex indexes the hashes.
func NewIndex(h []Hash) *Index { return &Index{hashes: h} }

// Len returns the number of hashes.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.hashes)
}

// Nearest returns the smallest distance to a known hash, or 65 when empty.
// A linear scan: a few thousand 64-bit popcounts take microseconds.
func (ix *Index) Nearest(h Hash) int {
	best := 65
	if ix == nil {
		return best
	}
	for _, k := range ix.hashes {
		if d := Distance(h, k); d < best {
			best = d
			if d == 0 {
				break
			}
		}
	}
	return best
}

const magic = "SCIMGH1\n"

// ErrFormat is returned for an encoded list that cannot be read.
var ErrFormat = errors.New("imghash: bad hash list")

// Marshal encodes hashes sorted and deduplicated.
func Marshal(hs []Hash) []byte {
	s := slices.Clone(hs)
	slices.Sort(s)
	s = slices.Compact(s)
	b := []byte(magic)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	for _, h := range s {
		b = binary.BigEndian.AppendUint64(b, uint64(h))
	}
	return b
}

// Unmarshal decodes a list written by Marshal.
func Unmarshal(b []byte) ([]Hash, error) {
	if len(b) < len(magic)+4 || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: missing header", ErrFormat)
	}
	b = b[len(magic):]
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) != uint64(n)*8 {
		return nil, fmt.Errorf("%w: %d bytes for %d hashes", ErrFormat, len(b), n)
	}
	hs := make([]Hash, n)
	for i := range hs {
		hs[i] = Hash(binary.BigEndian.Uint64(b[i*8:]))
	}
	return hs, nil
}
