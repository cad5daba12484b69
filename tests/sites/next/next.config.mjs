/** A static export: `next build` writes plain HTML to out/. */
export default { output: "export" };
