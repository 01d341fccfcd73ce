package message

import (
	"bytes"
	"compress/zlib"
	"encoding/ascii85"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"strconv"

	"github.com/scilla-mail/scilla/server/qrcode"
)

// maxPDFPixels bounds the pictures of a PDF searched for a QR code: a
// quishing PDF's code, or its page drawn as one picture at 150 dpi, is
// within it (about 17 ms to search); a page scanned at 200 dpi or more is
// not searched. Pictures narrower than qrcode.MinSide hold no code.
const maxPDFPixels = 1600 * 1600

// errPDFImage is what decode returns for a picture it cannot draw.
var errPDFImage = errors.New("pdf image not decoded")

// pdfImage is an image XObject of a PDF, still encoded: the stream's
// dictionary and its bytes.
type pdfImage struct {
	dict []byte
	data []byte
}

// pdfImages returns the first image XObjects of a PDF (at most limit) that
// are large enough to hold a QR code and small enough to search, in file
// order. Images sit in the file itself: a stream cannot be inside an
// object stream.
func pdfImages(b []byte, limit int) []pdfImage {
	var out []pdfImage
	pdfStreams(b, func(dict, data []byte) bool {
		if pdfName(dict, "/Subtype") != "/Image" {
			return true
		}
		outer, _ := pdfSplitParms(dict)
		if w, h := pdfInt(outer, "/Width"), pdfInt(outer, "/Height"); w >= qrcode.MinSide && h >= qrcode.MinSide && w*h <= maxPDFPixels {
			out = append(out, pdfImage{dict: dict, data: data})
		}
		return len(out) < limit
	})
	return out
}

// decode draws the picture in grey, inflating at most room bytes; used is
// how many it did. It reads what PDF writers put a QR code in: JPEG
// (/DCTDecode), and samples compressed with /FlateDecode (with or without
// PNG predictors), /ASCII85Decode or /ASCIIHexDecode, in grey, RGB, CMYK
// or an indexed palette, 1 to 8 bits a sample, and stencil masks.
func (im pdfImage) decode(room int) (img image.Image, used int, err error) {
	dict, parms := pdfSplitParms(im.dict)
	w, h := pdfInt(dict, "/Width"), pdfInt(dict, "/Height")
	bpc := pdfInt(dict, "/BitsPerComponent")
	mask := bytes.Contains(dict, []byte("/ImageMask true"))
	if mask {
		bpc = 1
	}
	comps, palette := pdfColours(dict)
	if mask || palette != nil {
		comps = 1
	}
	// The most the samples take (four components, a predictor's byte a
	// row): no more is inflated.
	need := h * ((w*max(comps, 4)*bpc+7)/8 + 1)
	data := im.data
	for _, f := range pdfFilters(dict) {
		switch f {
		case "/ASCII85Decode":
			data = bytes.TrimSuffix(bytes.TrimSpace(data), []byte("~>"))
			out, err := io.ReadAll(io.LimitReader(ascii85.NewDecoder(bytes.NewReader(data)), int64(room-used)))
			if err != nil {
				return nil, used, fmt.Errorf("ascii85: %w", err)
			}
			used += len(out)
			data = out
		case "/ASCIIHexDecode":
			data, _ = pdfHex(append(bytes.Clone(data), '>'))
		case "/FlateDecode":
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil, used, fmt.Errorf("inflate: %w", err)
			}
			var out bytes.Buffer
			n, _ := io.Copy(&out, io.LimitReader(zr, int64(min(need, room-used))))
			used += int(n)
			data = out.Bytes()
		case "/DCTDecode":
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				return nil, used, fmt.Errorf("jpeg: %w", err)
			}
			if cfg.Width*cfg.Height > maxPDFPixels {
				return nil, used, fmt.Errorf("%w: a %d×%d jpeg", errPDFImage, cfg.Width, cfg.Height)
			}
			img, err := jpeg.Decode(bytes.NewReader(data))
			return img, used, err
		default:
			return nil, used, fmt.Errorf("%w: filter %s", errPDFImage, f)
		}
	}
	if bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 {
		return nil, used, fmt.Errorf("%w: %d bits a sample", errPDFImage, bpc)
	}
	if comps == 0 { // an ICC or other colour space: as many as the samples fill
		comps = 1
		for _, c := range []int{3, 4} {
			if len(data) >= h*((w*c*bpc+7)/8) {
				comps = c
			}
		}
	}
	stride := (w*comps*bpc + 7) / 8
	if pdfInt(parms, "/Predictor") >= 10 {
		if data, err = pngUnfilter(data, stride, max(1, comps*bpc/8), h); err != nil {
			return nil, used, err
		}
	}
	if len(data) < h*stride {
		return nil, used, fmt.Errorf("%w: %d bytes of samples for %d×%d", errPDFImage, len(data), w, h)
	}
	invert := mask && (bytes.Contains(dict, []byte("/Decode [1 0]")) || bytes.Contains(dict, []byte("/Decode[1 0]")))
	grey := image.NewGray(image.Rect(0, 0, w, h))
	top := 1<<bpc - 1
	sample := func(row []byte, i int) int {
		if bpc == 8 {
			return int(row[i])
		}
		bit := i * bpc
		return int(row[bit/8]>>(8-bpc-bit%8)) & top
	}
	for y := range h {
		row := data[y*stride : (y+1)*stride]
		for x := range w {
			var v int
			switch {
			case mask: // 0 paints, in black, unless /Decode [1 0]
				v = sample(row, x) * 255
				if invert {
					v = 255 - v
				}
			case palette != nil:
				v = palette(sample(row, x))
			case comps == 1:
				v = sample(row, x) * 255 / top
			case comps == 3:
				r, g, b := sample(row, 3*x), sample(row, 3*x+1), sample(row, 3*x+2)
				v = (r*299 + g*587 + b*114) / 1000 * 255 / top
			default: // CMYK
				c, m, ye, k := sample(row, 4*x), sample(row, 4*x+1), sample(row, 4*x+2), sample(row, 4*x+3)
				v = 255 - min(255, ((c*30+m*59+ye*11)/100+k)*255/top)
			}
			grey.Pix[y*grey.Stride+x] = byte(v)
		}
	}
	return grey, used, nil
}

// pngUnfilter undoes the PNG filters of rows of stride bytes, each led by
// its filter type; bpp is the bytes a pixel (at least 1).
func pngUnfilter(data []byte, stride, bpp, h int) ([]byte, error) {
	out := make([]byte, stride*h)
	prev := make([]byte, stride)
	for y := range h {
		if len(data) < 1+stride {
			return nil, fmt.Errorf("%w: %d rows of samples, want %d", errPDFImage, y, h)
		}
		kind, in := data[0], data[1:1+stride]
		data = data[1+stride:]
		row := out[y*stride : (y+1)*stride]
		for i := range row {
			var left, upLeft byte
			if i >= bpp {
				left, upLeft = row[i-bpp], prev[i-bpp]
			}
			up := prev[i]
			switch kind {
			case 0:
				row[i] = in[i]
			case 1:
				row[i] = in[i] + left
			case 2:
				row[i] = in[i] + up
			case 3:
				row[i] = in[i] + byte((int(left)+int(up))/2)
			case 4:
				row[i] = in[i] + paeth(left, up, upLeft)
			default:
				return nil, fmt.Errorf("%w: png filter %d", errPDFImage, kind)
			}
		}
		prev = row
	}
	return out, nil
}

// paeth is PNG's Paeth predictor.
func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int { return max(x, -x) }

// pdfSplitParms returns a stream dictionary without its /DecodeParms
// dictionary, and that dictionary: both say /BitsPerComponent.
func pdfSplitParms(dict []byte) (outer, parms []byte) {
	i := bytes.Index(dict, []byte("/DecodeParms"))
	if i < 0 {
		return dict, nil
	}
	j := bytes.Index(dict[i:], []byte("<<"))
	k := bytes.Index(dict[i:], []byte(">>"))
	if j < 0 || k < j {
		return dict, nil
	}
	parms = dict[i+j : i+k+2]
	return append(bytes.Clone(dict[:i]), dict[i+k+2:]...), parms
}

// pdfInt returns the integer after key in dict, 0 when there is none.
func pdfInt(dict []byte, key string) int {
	i := bytes.Index(dict, []byte(key))
	if i < 0 {
		return 0
	}
	b := bytes.TrimLeft(dict[i+len(key):], " \t\r\n\f")
	n := 0
	for n < len(b) && n < 9 && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	v, _ := strconv.Atoi(string(b[:n]))
	return v
}

// pdfFilters returns the names of a stream's filters, in the order they
// are undone.
func pdfFilters(dict []byte) []string {
	i := bytes.Index(dict, []byte("/Filter"))
	if i < 0 {
		return nil
	}
	b := bytes.TrimLeft(dict[i+len("/Filter"):], " \t\r\n\f")
	if len(b) > 0 && b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 0 {
			return nil
		}
		var names []string
		for _, part := range bytes.Split(b[1:end], []byte("/"))[1:] {
			names = append(names, "/"+string(bytes.TrimSpace(part)))
		}
		return names
	}
	if name := pdfName(dict, "/Filter"); name != "" {
		return []string{name}
	}
	return nil
}

// pdfName returns the name after key in dict ("/Image"), "" when none.
func pdfName(dict []byte, key string) string {
	i := bytes.Index(dict, []byte(key))
	if i < 0 {
		return ""
	}
	b := bytes.TrimLeft(dict[i+len(key):], " \t\r\n\f")
	if len(b) == 0 || b[0] != '/' {
		return ""
	}
	n := 1
	for n < len(b) && !bytes.ContainsRune([]byte(" \t\r\n\f()<>[]{}/%"), rune(b[n])) {
		n++
	}
	return string(b[:n])
}

// pdfColours returns the components a sample has under the dictionary's
// colour space (0 when it does not say, as for ICC profiles kept
// elsewhere) and, for an indexed one whose palette is a hex string, the
// grey of each index.
func pdfColours(dict []byte) (comps int, palette func(int) int) {
	i := bytes.Index(dict, []byte("/ColorSpace"))
	if i < 0 {
		return 0, nil
	}
	b := bytes.TrimLeft(dict[i+len("/ColorSpace"):], " \t\r\n\f")
	switch {
	case bytes.HasPrefix(b, []byte("/DeviceGray")), bytes.HasPrefix(b, []byte("/CalGray")):
		return 1, nil
	case bytes.HasPrefix(b, []byte("/DeviceRGB")), bytes.HasPrefix(b, []byte("/CalRGB")):
		return 3, nil
	case bytes.HasPrefix(b, []byte("/DeviceCMYK")):
		return 4, nil
	}
	if !bytes.HasPrefix(b, []byte("[")) || !bytes.Contains(b[:min(len(b), 16)], []byte("/Indexed")) {
		return 0, nil
	}
	base := 3
	if bytes.Contains(b[:min(len(b), 32)], []byte("/DeviceGray")) {
		base = 1
	}
	j := bytes.IndexByte(b, '<')
	if j < 0 || bytes.IndexByte(b, ']') < j {
		return 1, func(v int) int { return v } // a palette elsewhere: indexes as they are
	}
	table, _ := pdfHex(b[j+1:])
	return 1, func(v int) int {
		if (v+1)*base > len(table) {
			return 255
		}
		c := table[v*base : (v+1)*base]
		if base == 1 {
			return int(c[0])
		}
		return (int(c[0])*299 + int(c[1])*587 + int(c[2])*114) / 1000
	}
}
