import {
  formatDate,
  formatPrice,
  getAllArticles,
  getAllProductCollections,
  getAllProducts,
  getArticleBySlug,
  getProductByProviderId,
  newestFirst,
} from "../content/fetched";

export default async function Home() {
  const products = getAllProducts();
  // The summaries carry created_at: a listing sorts by date without loading every article.
  const listed = [...getAllArticles()].sort(newestFirst);
  const articles = await Promise.all(listed.map((a) => getArticleBySlug(a.slug)));
  const espresso = await getProductByProviderId("gid://shopify/Product/42");
  return (
    <main>
      <h1>Products</h1>
      <ul>
        {products.map((p) => (
          <li key={p.id} className="product">
            <a href={`/products/${p.slug}/`}>{p.title}</a>{" "}
            <span className="price" data-exact={`${p.price?.amount} ${p.price?.currency_code}`}>
              {formatPrice(p.price, "en-US")}
            </span>
          </li>
        ))}
      </ul>
      <p id="by-provider-id">{espresso?.title}</p>
      <h1>Articles</h1>
      {listed.map((summary, i) => (
        <article key={summary.id}>
          <h2>{summary.title}</h2>
          <time>{formatDate(summary.created_at, "en-GB")}</time>
          <div dangerouslySetInnerHTML={{ __html: articles[i]?.body ?? "" }} />
        </article>
      ))}
      <h1>Collections</h1>
      {getAllProductCollections().map((c) => (
        <p key={c.id} className="collection">
          {c.title}
        </p>
      ))}
    </main>
  );
}
