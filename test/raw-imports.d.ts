// Vite's raw imports (a docs example's SQL, read by a test as the reader would run it).
declare module "*?raw" {
  const text: string;
  export default text;
}
