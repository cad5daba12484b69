import { getAll, getBySlug } from '@content-platform/fetch/next'

export async function generateStaticParams() {
  return (await getAll('product')).map((p) => ({ slug: p.slug }))
}

export default async function Product({ params }: { params: Promise<{ slug: string }> }) {
  const product = await getBySlug('product', (await params).slug)
  return <h1 data-id={product?.id}>{product?.title}</h1>
}
