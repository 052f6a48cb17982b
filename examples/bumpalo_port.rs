//! A bumpalo program, ported: an arithmetic parser that builds its syntax tree, tokens and
//! printed forms in an arena, evaluates a batch of lines, and resets the arena between batches.
//!
//! Run it with `cargo run --release --example bumpalo_port`.
//!
//! The bumpalo original (bumpalo 3 with its `collections` feature):
//!
//! ```text
//! use bumpalo::collections::{CollectIn, String, Vec};
//! use bumpalo::{format, vec, Bump};
//!
//! enum Expr<'a> {
//!     Num(i64),
//!     Var(&'a str),
//!     Bin(&'a str, &'a Expr<'a>, &'a Expr<'a>),
//! }
//!
//! fn tokenize<'a>(bump: &'a Bump, line: &str) -> &'a [&'a str] {
//!     let mut tokens: Vec<'a, &'a str> = Vec::new_in(bump);
//!     let mut rest = line.trim_start();
//!     while let Some(c) = rest.chars().next() {
//!         let len = if c.is_ascii_alphanumeric() {
//!             rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len())
//!         } else {
//!             c.len_utf8()
//!         };
//!         tokens.push(bump.alloc_str(&rest[..len]));
//!         rest = rest[len..].trim_start();
//!     }
//!     tokens.into_bump_slice()
//! }
//!
//! struct Parser<'a> {
//!     bump: &'a Bump,
//!     tokens: &'a [&'a str],
//!     pos: usize,
//! }
//!
//! impl<'a> Parser<'a> {
//!     fn next_if(&mut self, ops: &[&str]) -> Option<&'a str> {
//!         let t = *self.tokens.get(self.pos)?;
//!         ops.contains(&t).then(|| {
//!             self.pos += 1;
//!             t
//!         })
//!     }
//!     fn sum(&mut self) -> &'a Expr<'a> {
//!         let mut lhs = self.product();
//!         while let Some(op) = self.next_if(&["+", "-"]) {
//!             lhs = self.bump.alloc(Expr::Bin(op, lhs, self.product()));
//!         }
//!         lhs
//!     }
//!     fn product(&mut self) -> &'a Expr<'a> {
//!         let mut lhs = self.atom();
//!         while let Some(op) = self.next_if(&["*"]) {
//!             lhs = self.bump.alloc(Expr::Bin(op, lhs, self.atom()));
//!         }
//!         lhs
//!     }
//!     fn atom(&mut self) -> &'a Expr<'a> {
//!         if self.next_if(&["("]).is_some() {
//!             let inner = self.sum();
//!             self.next_if(&[")"]).expect("missing )");
//!             return inner;
//!         }
//!         let t = self.tokens[self.pos];
//!         self.pos += 1;
//!         self.bump.alloc(match t.parse() {
//!             Ok(n) => Expr::Num(n),
//!             Err(_) => Expr::Var(t),
//!         })
//!     }
//! }
//!
//! fn eval(e: &Expr, env: &[(&str, i64)]) -> i64 {
//!     match *e {
//!         Expr::Num(n) => n,
//!         Expr::Var(v) => env.iter().find(|(name, _)| *name == v).map_or(0, |&(_, x)| x),
//!         Expr::Bin(op, l, r) => {
//!             let (l, r) = (eval(l, env), eval(r, env));
//!             match op {
//!                 "+" => l + r,
//!                 "-" => l - r,
//!                 _ => l * r,
//!             }
//!         }
//!     }
//! }
//!
//! fn show<'a>(bump: &'a Bump, e: &Expr) -> String<'a> {
//!     match *e {
//!         Expr::Num(n) => format!(in bump, "{}", n),
//!         Expr::Var(v) => String::from_str_in(v, bump),
//!         Expr::Bin(op, l, r) => format!(in bump, "({} {op} {})", show(bump, l), show(bump, r)),
//!     }
//! }
//!
//! fn main() {
//!     let mut bump = Bump::new();
//!     let lines = ["1 + 2 * x", "(x + y) * (x - y)", "y * y * 10 - x"];
//!     let mut checksum = 0;
//!     for round in 1..=3 {
//!         let env = vec![in &bump; ("x", round), ("y", 4)].into_bump_slice();
//!         for line in lines {
//!             let tokens = tokenize(&bump, line);
//!             let names: Vec<&str> = tokens
//!                 .iter()
//!                 .copied()
//!                 .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
//!                 .collect_in(&bump);
//!             let ast = Parser { bump: &bump, tokens, pos: 0 }.sum();
//!             let value = eval(ast, env);
//!             let text = show(&bump, ast).into_bump_str();
//!             println!("round {round}: {text} = {value} (names: {})", names.join(", "));
//!             checksum += value;
//!         }
//!         println!("arena holds {} bytes", bump.allocated_bytes());
//!         bump.reset();
//!     }
//!     assert_eq!(checksum, 455);
//! }
//! ```
//!
//! What changed below (it prints the same lines, apart from the bytes held, whose chunk sizes
//! differ): the `use` lines; the type `Bump` is spelled `Arena`; the vector and string types
//! take the allocator as a type parameter (`Vec<'a, T>` → `Vec<T, &'a Arena>`, `String<'a>` →
//! `String<&'a Arena>`, and in `main` the elided `Vec<&str>` → `Vec<&str, _>`); and
//! `format!(in bump, ..)` is `format_in!(bump, ..)`. Every other line is the same.

use engram_kernels::allocator_api2::vec::Vec;
use engram_kernels::collections::String;
use engram_kernels::prelude::*;
use engram_kernels::vec;

enum Expr<'a> {
    Num(i64),
    Var(&'a str),
    Bin(&'a str, &'a Expr<'a>, &'a Expr<'a>),
}

/// Splits a line into tokens: numbers, names and one-character operators.
fn tokenize<'a>(bump: &'a Arena, line: &str) -> &'a [&'a str] {
    let mut tokens: Vec<&'a str, &'a Arena> = Vec::new_in(bump);
    let mut rest = line.trim_start();
    while let Some(c) = rest.chars().next() {
        let len = if c.is_ascii_alphanumeric() {
            rest.find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len())
        } else {
            c.len_utf8()
        };
        tokens.push(bump.alloc_str(&rest[..len]));
        rest = rest[len..].trim_start();
    }
    tokens.into_bump_slice()
}

/// A recursive-descent parser over the tokens: sums of products of atoms.
struct Parser<'a> {
    bump: &'a Arena,
    tokens: &'a [&'a str],
    pos: usize,
}

impl<'a> Parser<'a> {
    /// The next token if it is one of `ops`, consumed.
    fn next_if(&mut self, ops: &[&str]) -> Option<&'a str> {
        let t = *self.tokens.get(self.pos)?;
        ops.contains(&t).then(|| {
            self.pos += 1;
            t
        })
    }

    fn sum(&mut self) -> &'a Expr<'a> {
        let mut lhs = self.product();
        while let Some(op) = self.next_if(&["+", "-"]) {
            lhs = self.bump.alloc(Expr::Bin(op, lhs, self.product()));
        }
        lhs
    }

    fn product(&mut self) -> &'a Expr<'a> {
        let mut lhs = self.atom();
        while let Some(op) = self.next_if(&["*"]) {
            lhs = self.bump.alloc(Expr::Bin(op, lhs, self.atom()));
        }
        lhs
    }

    fn atom(&mut self) -> &'a Expr<'a> {
        if self.next_if(&["("]).is_some() {
            let inner = self.sum();
            self.next_if(&[")"]).expect("missing )");
            return inner;
        }
        let t = self.tokens[self.pos];
        self.pos += 1;
        self.bump.alloc(match t.parse() {
            Ok(n) => Expr::Num(n),
            Err(_) => Expr::Var(t),
        })
    }
}

fn eval(e: &Expr, env: &[(&str, i64)]) -> i64 {
    match *e {
        Expr::Num(n) => n,
        Expr::Var(v) => env
            .iter()
            .find(|(name, _)| *name == v)
            .map_or(0, |&(_, x)| x),
        Expr::Bin(op, l, r) => {
            let (l, r) = (eval(l, env), eval(r, env));
            match op {
                "+" => l + r,
                "-" => l - r,
                _ => l * r,
            }
        }
    }
}

/// The expression, fully parenthesised, as text in the bump.
fn show<'a>(bump: &'a Arena, e: &Expr) -> String<&'a Arena> {
    match *e {
        Expr::Num(n) => format_in!(bump, "{}", n),
        Expr::Var(v) => String::from_str_in(v, bump),
        Expr::Bin(op, l, r) => format_in!(bump, "({} {op} {})", show(bump, l), show(bump, r)),
    }
}

fn main() {
    let mut bump = Arena::new();
    let lines = ["1 + 2 * x", "(x + y) * (x - y)", "y * y * 10 - x"];
    let mut checksum = 0;
    for round in 1..=3 {
        let env = vec![in &bump; ("x", round), ("y", 4)].into_bump_slice();
        for line in lines {
            let tokens = tokenize(&bump, line);
            let names: Vec<&str, _> = tokens
                .iter()
                .copied()
                .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
                .collect_in(&bump);
            let ast = Parser {
                bump: &bump,
                tokens,
                pos: 0,
            }
            .sum();
            let value = eval(ast, env);
            let text = show(&bump, ast).into_bump_str();
            println!(
                "round {round}: {text} = {value} (names: {})",
                names.join(", ")
            );
            checksum += value;
        }
        println!("arena holds {} bytes", bump.allocated_bytes());
        bump.reset();
    }
    assert_eq!(checksum, 455);
}
