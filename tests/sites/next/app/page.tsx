import { getAllArticles, getAllProducts, getArticleBySlug } from "../content/fetched";

export default async function Home() {
  const products = getAllProducts();
  const articles = await Promise.all(getAllArticles().map((a) => getArticleBySlug(a.slug)));
  return (
    <main>
      <h1>Products</h1>
      <ul>
        {products.map((p) => (
          <li key={p.id} className="product">
            <a href={`/products/${p.slug}/`}>{p.title}</a>{" "}
            <span className="price">{`${p.price?.amount} ${p.price?.currency_code}`}</span>
          </li>
        ))}
      </ul>
      <h1>Articles</h1>
      {articles.map(
        (a) =>
          a && (
            <article key={a.id}>
              <h2>{a.title}</h2>
              <div dangerouslySetInnerHTML={{ __html: a.body ?? "" }} />
            </article>
          ),
      )}
    </main>
  );
}
