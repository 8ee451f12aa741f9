/**
 * The kinds of content bench/ladders makes, each a lavfi graph: the sources the rate-control modes
 * are compared on.
 */

export interface Content {
  id: string
  label: string
  /** A lavfi graph producing [out] at 1920x1080, 30 fps, `seconds` long. */
  graph(seconds: number): string
}

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'

/** Each kind of content as a lavfi graph producing [out] at 1920x1080, 30 fps, `seconds` long; random sources are seeded, so every run makes the same pictures. */
export const CONTENTS: readonly Content[] = [
  {
    id: 'talking',
    label: 'talking head (a still picture, one small moving region, light sensor noise)',
    graph: (seconds: number) => `color=c=0x55606e:s=1920x1080:r=30:d=${seconds},drawgrid=w=160:h=120:t=3:c=0xd0d0d0@0.5[bg];testsrc2=s=420x520:r=30:d=${seconds}[face];[bg][face]overlay=x=750+30*sin(t):y=280+12*sin(1.7*t),noise=alls=3:allf=t[out]`,
  },
  {
    id: 'slides',
    label: 'slides (text and a chart, changing every 5 s)',
    graph: (seconds: number) => `color=c=white:s=1920x1080:r=30:d=${seconds},` +
      `drawtext=fontfile=${FONT}:text='Slide %{eif\\:floor(t/5)+1\\:d}\\: results':fontsize=90:x=120:y=100:fontcolor=0x202060,` +
      `drawtext=fontfile=${FONT}:text='Revenue grew %{eif\\:mod(floor(t/5)*37,90)+5\\:d} percent in region %{eif\\:floor(t/5)+3\\:d}':fontsize=54:x=120:y=260,` +
      `drawtext=fontfile=${FONT}:text='Next steps\\: hire %{eif\\:floor(t/5)*3+2\\:d} engineers, ship the watch page':fontsize=54:x=120:y=360,` +
      `drawbox=x=160:y=520:w=220:h=440:color=0x3060c0:t=fill,drawbox=x=460:y=620:w=220:h=340:color=0xc06030:t=fill,` +
      `drawbox=x=760:y='960-(120+60*mod(floor(t/5),6))':w=220:h='120+60*mod(floor(t/5),6)':color=0x30a060:t=fill[out]`,
  },
  {
    id: 'motion',
    label: 'high motion (a fractal zooming: every pixel changes every frame)',
    graph: (seconds: number) => `mandelbrot=s=1920x1080:r=30:end_scale=0.01:maxiter=2000,trim=duration=${seconds},format=yuv420p[out]`,
  },
  {
    id: 'grain',
    label: 'film grain (soft moving gradients under strong temporal noise)',
    graph: (seconds: number) => `gradients=s=1920x1080:r=30:speed=0.02:seed=1:d=${seconds},noise=alls=22:allf=t+u[out]`,
  },
  {
    id: 'animation',
    label: 'animation (flat colours, moving edges)',
    graph: (seconds: number) => `life=s=480x270:r=30:seed=1:mold=10:ratio=0.1:death_color=0xC83232:life_color=0x20c040:mold_color=0x202080,trim=duration=${seconds},scale=1920:1080:flags=neighbor,format=yuv420p[out]`,
  },
]
