package display

import (
	"fmt"
	"image"
	"io"
	"strings"
	"sync"
)

// Framebuffer pixel formats.
const (
	FBGray8    = "gray8"    // 1 byte per pixel
	FBRGB565   = "rgb565"   // 2 bytes, little endian (most small LCDs)
	FBXRGB8888 = "xrgb8888" // 4 bytes, B G R X in memory (most desktop framebuffers)
)

// FramebufferSink writes each screen into a Linux framebuffer (/dev/fbN
// opened for writing) or any io.WriterAt of the same layout. The geometry
// is configuration, not probed: read it once from /sys/class/graphics/fbN
// (virtual_size, bits_per_pixel, stride) and set Renderer's size to match.
type FramebufferSink struct {
	W        io.WriterAt
	Renderer *Renderer
	Format   string // FBGray8 | FBRGB565 | FBXRGB8888
	Stride   int    // bytes per line; 0 = width x bytes per pixel

	mu sync.Mutex // one frame written at a time
}

var _ Sink = (*FramebufferSink)(nil)

// bytesPerPixel returns the size of one pixel of format.
func bytesPerPixel(format string) (int, error) {
	switch strings.ToLower(format) {
	case FBGray8:
		return 1, nil
	case FBRGB565:
		return 2, nil
	case FBXRGB8888:
		return 4, nil
	}
	return 0, fmt.Errorf("display: framebuffer format %q: want %s, %s or %s", format, FBGray8, FBRGB565, FBXRGB8888)
}

// EncodeFramebuffer lays out a grey image in a framebuffer format: the
// bytes of one full frame, stride bytes per line (0: no padding). Pure.
func EncodeFramebuffer(img *image.Gray, format string, stride int) ([]byte, error) {
	bpp, err := bytesPerPixel(format)
	if err != nil {
		return nil, err
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if stride == 0 {
		stride = w * bpp
	}
	if stride < w*bpp {
		return nil, fmt.Errorf("display: framebuffer stride %d is less than %d pixels x %d bytes", stride, w, bpp)
	}
	out := make([]byte, stride*h)
	for y := 0; y < h; y++ {
		row := img.Pix[img.PixOffset(img.Bounds().Min.X, img.Bounds().Min.Y+y):][:w]
		line := out[y*stride:]
		for x, v := range row {
			switch bpp {
			case 1:
				line[x] = v
			case 2:
				p := uint16(v>>3)<<11 | uint16(v>>2)<<5 | uint16(v>>3)
				line[2*x], line[2*x+1] = byte(p), byte(p>>8)
			case 4:
				line[4*x], line[4*x+1], line[4*x+2], line[4*x+3] = v, v, v, 0xff
			}
		}
	}
	return out, nil
}

// Show renders s and writes the whole frame at offset 0.
func (f *FramebufferSink) Show(s Screen) error {
	b, err := EncodeFramebuffer(f.Renderer.Render(s), f.Format, f.Stride)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.W.WriteAt(b, 0); err != nil {
		return fmt.Errorf("display: framebuffer write: %w", err)
	}
	return nil
}
