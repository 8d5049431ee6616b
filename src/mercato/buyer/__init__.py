"""mercato.buyer"""
