import { getAll } from '@content-platform/fetch/next'

export default async function Home() {
  const products = await getAll('product')
  return (
    <ul>
      {products.map((p) => (
        <li key={p.id} className="product" data-id={p.id}>
          <a href={`/products/${p.slug}/`}>{p.title}</a>
        </li>
      ))}
    </ul>
  )
}
