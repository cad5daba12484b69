//! Engine writers that turn unified content into Eleventy, Astro and Next.js data files.
