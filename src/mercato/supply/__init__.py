"""mercato.supply"""
