/* Marching cubes with bounded memory, and two mesh checks.
 *
 * The field (for siren: a network) is evaluated one z-slice of the grid at
 * a time and only two slices of values are kept, with the ids of the
 * vertices on their edges, so memory is O(res^2) plus the output mesh:
 * `siren mesh --res 1024` needs about 45 MB besides the mesh.
 *
 * The case table is generated at first use, not typed in: on each cube
 * face the edge crossings are joined by segments, an ambiguous face (two
 * diagonal corners below the level, two above) always cutting off its
 * below-level corners; the segments chain into closed loops, fanned into
 * triangles. The face rule depends on that face's four corners only, so
 * the two cubes sharing a face agree and the surface has no cracks. */
#ifndef SIREN_GEOM_MCUBES_H
#define SIREN_GEOM_MCUBES_H

#include <stddef.h>
#include <stdint.h>

#include "siren.h"

/* The field at n points xyz (n, 3) into values (n); a status other than
 * SIREN_OK stops the extraction and is returned. */
typedef siren_status (*siren_field_fn)(void *user, const float *xyz, size_t n,
                                       float *values);
/* After each slice: (slices done, total); nonzero cancels. */
typedef int (*siren_mc_progress_fn)(void *user, int done, int total);

/* The level set {field = level} on the grid of res points per axis,
 * x_i = lo + (hi - lo) i / (res - 1) (computed in double, stored as float),
 * as a triangle mesh. The field is called once per z-slice with its res^2
 * points, x fastest, then y. Grid values >= level count as above the level,
 * values < level as below.
 *
 * Vertices: one per grid edge whose ends are on opposite sides, shared by
 * every cube using that edge. On the edge from grid point a to grid point
 * b (b one step further along the edge's axis), the coordinate along the
 * axis is x_a + t (x_b - x_a) with t = (level - v_a) / (v_b - v_a), all in
 * float; when that rounds onto an end (t = 0 for v_a == level, say) it is
 * moved to the nearest float strictly inside the edge. Every vertex is thus
 * strictly inside its own edge, and no two vertices share a position.
 *
 * Triangles are wound so that (b - a) x (c - a) points towards larger
 * field values (outward for a signed distance). Their three vertices lie
 * on three distinct edges, so no triangle repeats a vertex and none is
 * dropped; a triangle may still have (almost) zero area where the surface
 * passes (almost) through a grid point. It is kept: its edges are shared
 * with its neighbours, and removing it would open a hole.
 *
 * Where the level set reaches the grid's sides it is left open there.
 * out->vn is NULL; an empty level set gives an empty mesh (NULL arrays).
 * Errors: res outside [2, 4096], a NaN level, lo or hi not finite, hi not
 * above lo or so close that a cell holds no float strictly inside, a NaN field value
 * (SIREN_EINVAL, naming the point); more than 2^32 - 1 vertices
 * (SIREN_ELIMIT); SIREN_ENOMEM; SIREN_ECANCELED; or the field's own status;
 * out is then empty (zeroed). */
siren_status siren_marching_cubes(int res, const float lo[3], const float hi[3],
                                  float level, siren_field_fn field,
                                  void *field_user, siren_mc_progress_fn progress,
                                  void *progress_user, siren_mesh *out);

/* The generated case table, for tests: the triangles of case cfg (bit c
 * set when corner c is below the level; corner c at (c & 1, c >> 1 & 1,
 * c >> 2 & 1) of the cube) as triples of cube edges, into tri; returns
 * their number (at most SIREN_MC_MAX_TRI). Edges 0-3 run along x, 4-7
 * along y, 8-11 along z; siren_mc_edge_corners gives each one's corners
 * (the first with the axis bit 0). */
enum { SIREN_MC_MAX_TRI = 5 };
int siren_mc_case(int cfg, int8_t tri[SIREN_MC_MAX_TRI][3]);
void siren_mc_edge_corners(int edge, int *c0, int *c1);

/* Total area, and the signed volume by the divergence theorem (positive
 * for a closed mesh wound outward), in double. */
void siren_mesh_area_volume(const siren_mesh *m, double *area, double *volume);

/* Edges used by one face only (boundary), by more than two (non-manifold),
 * and by two faces in the same direction (misoriented). A closed, oriented
 * surface has 0, 0, 0. SIREN_ENOMEM is the only failure. */
siren_status siren_mesh_check_watertight(const siren_mesh *m, size_t *boundary,
                                         size_t *nonmanifold,
                                         size_t *misoriented);

#endif
