import { eleventyData } from '@content-platform/fetch/eleventy'

export default () => eleventyData('article')
