import { defineCollection } from 'astro:content'
import { contentLoader } from '@content-platform/fetch/astro'

export const collections = {
  articles: defineCollection({ loader: contentLoader({ type: 'article' }) }),
  products: defineCollection({ loader: contentLoader({ type: 'product' }) }),
}
